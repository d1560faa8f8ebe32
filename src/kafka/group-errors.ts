/**
 * Errors from the group coordinator that mean "the group is moving": a member joined or left, a
 * rebalance is under way, or this member was dropped (its session expired). kafkajs marks them not
 * retriable, so a commit fails at once; they are not failures of the pipeline. The commit is void and the
 * join that follows rebuilds state from the last commit that went through.
 */
const GROUP_MOVING = new Set(['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID']);

/** True when the error, or one it wraps (kafkajs `originalError`, `cause`), is a group-moving one. */
export function isGroupMoving(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; depth++) {
    const type = (e as { type?: unknown }).type;
    if (typeof type === 'string' && GROUP_MOVING.has(type)) return true;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return false;
}
