/**
 * Which group member this instance was before a kill -9, so the restart can take its partitions back at
 * once instead of waiting for the broker to give up on the dead member (`kafka.sessionTimeoutMs`).
 *
 * Kafka Streams makes a restart's rejoin immediate with static membership (KIP-345: `group.instance.id`,
 * the broker hands the returning member its old assignment). kafkajs has no static membership, so each
 * instance remembers its member id in a slot of `pipeline.stateDir` (as Kafka Streams keeps its task
 * state and process id under `state.dir`): `<stateDir>/<groupId>/member-<n>.json`, `{ pid, memberId }`.
 * A starting instance takes the first slot whose process is not running (several instances of one group
 * on one host take one slot each); if that slot names a member id, the process that held it died without
 * leaving the group, and the starting instance asks the group coordinator to remove that member
 * (LeaveGroup on its behalf, what the dead process would have sent on a clean stop). A clean stop leaves
 * the group itself and empties its slot.
 *
 * Nothing here is needed for correctness: without a slot (a read-only or missing directory, a container
 * whose state directory is not kept) the restart waits for the session timeout, as before.
 */
import { mkdirSync, readFileSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';

interface SlotContent {
  pid: number;
  memberId?: string;
}

/** Whether a process with this pid runs on this host (EPERM: it runs, under another user). */
export function processRuns(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A group id as one directory name (anything outside [A-Za-z0-9._-] becomes `_`). */
function directoryName(groupId: string): string {
  const safe = groupId.replace(/[^A-Za-z0-9._-]/g, '_');
  return safe === '.' || safe === '..' ? `_${safe}` : safe;
}

function read(file: string): SlotContent | undefined {
  try {
    const content = JSON.parse(readFileSync(file, 'utf8')) as Partial<SlotContent>;
    return typeof content.pid === 'number' ? (content as SlotContent) : undefined;
  } catch {
    return undefined; // missing, or cut short by a crash mid-write: a free slot
  }
}

export class MemberSlot {
  private constructor(
    readonly file: string,
    /** The member id the slot's previous holder left behind (it died in the group), if any. */
    readonly previous: { memberId: string; pid: number } | undefined,
  ) {}

  /**
   * Takes the first slot whose holder is not running (this process's own pid counts as not running: a
   * slot it held before an in-process restart). Throws when the directory cannot be written.
   */
  static claim(stateDir: string, groupId: string, pid = process.pid): MemberSlot {
    const dir = join(stateDir, directoryName(groupId));
    mkdirSync(dir, { recursive: true });
    for (let n = 0; ; n++) {
      const file = join(dir, `member-${n}.json`);
      const held = read(file);
      if (held !== undefined && held.pid !== pid && processRuns(held.pid)) continue;
      write(file, { pid });
      // Two instances starting at once may both have found the slot free: the last write holds it.
      if (read(file)?.pid !== pid) continue;
      const previous =
        held?.memberId !== undefined && held.pid !== pid
          ? { memberId: held.memberId, pid: held.pid }
          : undefined;
      return new MemberSlot(file, previous);
    }
  }

  /**
   * The member id the group gave this instance at its join. Called from kafkajs's join event, so it never
   * throws: a group directory removed meanwhile (a tmp cleaner) is made again; false when it cannot write.
   */
  remember(memberId: string): boolean {
    const content = { pid: process.pid, memberId };
    try {
      write(this.file, content);
      return true;
    } catch {
      try {
        mkdirSync(dirname(this.file), { recursive: true });
        write(this.file, content);
        return true;
      } catch {
        return false;
      }
    }
  }

  /** A clean stop: the member left the group, the slot is free. */
  release(): void {
    try {
      unlinkSync(this.file);
      rmdirSync(dirname(this.file)); // the group's directory, once no other instance holds a slot in it
    } catch {
      // already gone, or other slots are held
    }
  }
}

function write(file: string, content: SlotContent): void {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(content));
  renameSync(temporary, file); // atomic: a reader sees the old content or the new, never half
}

/**
 * Removes `memberId` from `groupId` if the group still counts it (a LeaveGroup sent for it, as kafkajs
 * sends for itself on disconnect). Resolves with whether it was removed. kafkajs exposes no LeaveGroup for
 * another member, so this uses the cluster factory of the Kafka instance (kafkajs 2.2.4, pinned); where
 * that is missing it resolves false and the group waits for the session timeout.
 */
export async function removeMember(
  kafka: Kafka,
  admin: Admin,
  groupId: string,
  memberId: string,
): Promise<boolean> {
  const { groups } = await admin.describeGroups([groupId]);
  if (!groups[0]?.members.some((member) => member.memberId === memberId)) return false;
  const factory = clusterFactory(kafka);
  if (factory === undefined) return false;
  const cluster = factory({});
  await cluster.connect();
  try {
    const coordinator = await cluster.findGroupCoordinator({ groupId });
    await coordinator.leaveGroup({ groupId, memberId });
    return true;
  } finally {
    await cluster.disconnect();
  }
}

interface InternalCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  findGroupCoordinator(request: { groupId: string }): Promise<{
    leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
  }>;
}

function clusterFactory(kafka: Kafka): ((options: object) => InternalCluster) | undefined {
  const symbol = Object.getOwnPropertySymbols(kafka).find(
    (s) => s.description === 'private:Kafka:createCluster',
  );
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  return typeof factory === 'function' ? (factory as (options: object) => InternalCluster) : undefined;
}
