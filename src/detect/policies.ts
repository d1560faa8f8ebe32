import { PatternSet } from '../config/glob.js';
import type { PolicyConfig, RulesConfig } from '../config/types.js';
import { normaliseSid } from './normalise.js';
import type { Access } from './types.js';

/**
 * What a rule's key holds, and so which policies can apply to it: `mailbox` rules are keyed by mailbox (and
 * actor), so mailbox and actor matches both apply; `actor` rules (the sweeps, first_app_access) by the actor
 * alone, so only policies that match actors and no mailboxes apply.
 */
export type PolicyScope = 'mailbox' | 'actor';

export const RULE_SCOPE: Record<keyof RulesConfig, PolicyScope> = {
  nonOwnerBurst: 'mailbox',
  crossDomainBurst: 'mailbox',
  bulkMailAccess: 'mailbox',
  mailboxSweep: 'actor',
  appMailboxSweep: 'actor',
  firstAppAccess: 'actor',
  firstAccess: 'mailbox',
};

/** Above this many cached mailboxes (or actors) the cache starts again: a match is recomputed the same. */
const CACHE_LIMIT = 1 << 18;

/**
 * `detection.policies` compiled for one core: which policy decides an access's key for a rule — the first
 * that matches, in configuration order. A policy matches an access when each of its criteria does: its
 * mailboxes the owner UPN or the mailbox key (GUID), its actors the actor (UPN, SID or app id) or, for a
 * user, the logon SID. Patterns are compiled once; the answer per mailbox and per actor is cached as a bit
 * mask of the policies it satisfies, so an access costs two map lookups and an AND.
 */
export class PolicyBook {
  private readonly mailboxSets: (PatternSet | null)[];
  private readonly actorSets: (PatternSet | null)[];
  /** Bits of the policies without a mailbox criterion: those the actor-keyed rules may take. */
  private readonly actorOnly: number[];
  private readonly words: number;
  private readonly mailboxMasks = new Map<string, number[]>();
  private readonly actorMasks = new Map<string, number[]>();

  /** The book of `policies`, or null when there are none (the rules then run exactly as configured). */
  static of(policies: readonly PolicyConfig[]): PolicyBook | null {
    return policies.length === 0 ? null : new PolicyBook(policies);
  }

  private constructor(readonly policies: readonly PolicyConfig[]) {
    this.words = Math.ceil(policies.length / 32);
    this.mailboxSets = policies.map((p) =>
      p.match.mailboxes.length === 0 ? null : new PatternSet(p.match.mailboxes),
    );
    this.actorSets = policies.map((p) =>
      p.match.actors.length === 0 ? null : new PatternSet(p.match.actors),
    );
    this.actorOnly = this.mask((i) => this.mailboxSets[i] === null);
  }

  /** Whether any policy can apply to `rule` (one with no mailbox criterion, for an actor-keyed rule). */
  applies(rule: keyof RulesConfig): boolean {
    return RULE_SCOPE[rule] === 'mailbox' || this.actorOnly.some((word) => word !== 0);
  }

  /** The index of the policy that decides `access` for `rule`, or -1 when none matches. */
  indexOf(rule: keyof RulesConfig, access: Access): number {
    const actor = this.actorMask(access);
    const mailbox = RULE_SCOPE[rule] === 'actor' ? this.actorOnly : this.mailboxMask(access);
    for (let w = 0; w < this.words; w++) {
      const both = (actor[w] as number) & (mailbox[w] as number);
      if (both !== 0) return w * 32 + (31 - Math.clz32(both & -both));
    }
    return -1;
  }

  /** The policy that decides `access` for `rule`, or undefined when none matches. */
  policyOf(rule: keyof RulesConfig, access: Access): PolicyConfig | undefined {
    const index = this.indexOf(rule, access);
    return index < 0 ? undefined : this.policies[index];
  }

  clear(): void {
    this.mailboxMasks.clear();
    this.actorMasks.clear();
  }

  private mailboxMask(access: Access): number[] {
    let mask = this.mailboxMasks.get(access.mailbox);
    if (mask === undefined) {
      mask = this.mask((i) => {
        const set = this.mailboxSets[i];
        return (
          set === null || set === undefined || set.matches(access.ownerUpn) || set.matches(access.mailbox)
        );
      });
      if (this.mailboxMasks.size >= CACHE_LIMIT) this.mailboxMasks.clear();
      this.mailboxMasks.set(access.mailbox, mask);
    }
    return mask;
  }

  private actorMask(access: Access): number[] {
    let mask = this.actorMasks.get(access.actor);
    if (mask === undefined) {
      // An app-only read carries the owner's logon SID, not the app's: apps match by their id alone.
      const sid = access.app ? null : normaliseSid(access.record.logon_user_sid);
      mask = this.mask((i) => {
        const set = this.actorSets[i];
        return set === null || set === undefined || set.matches(access.actor) || set.matches(sid);
      });
      if (this.actorMasks.size >= CACHE_LIMIT) this.actorMasks.clear();
      this.actorMasks.set(access.actor, mask);
    }
    return mask;
  }

  private mask(has: (index: number) => boolean): number[] {
    const mask = new Array<number>(this.words).fill(0);
    for (let i = 0; i < this.policies.length; i++)
      if (has(i)) mask[i >> 5] = (mask[i >> 5] as number) | (1 << (i & 31));
    return mask;
  }
}
