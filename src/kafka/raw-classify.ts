/**
 * Classification on the raw Avro bytes (issue 12): most activity records are owners reading their own
 * mail or system traffic, and leave the core right after classification. Decoding all their fields into
 * fresh strings first was the largest cost of `run`. This walks a Confluent-framed record once, reads only
 * what classification needs (logon type, user type, the SIDs, the user id and owner UPN, what
 * bulk_mail_access asks of an owner's record, the event time) and skips every other field without building
 * a string.
 *
 * It only ever says "owner" or "system", and only when the full path (avsc decode → parseRecord →
 * classify) would say the same for that record, with no other effect: every doubt — a record avsc might
 * reject or read differently, a value parseRecord might not take as it is, text outside ASCII where a
 * case-insensitive comparison decides, an owner record bulk_mail_access could count, an app's access, a
 * non-owner — answers FALLBACK, and the record is decoded fully as before. So the fast path can lose
 * speed, never a result.
 *
 * avsc stays the decoder of record: the plan for a schema id is derived from the writer schema the codec
 * resolved against the reader (an id the codec could not resolve gets no plan), field by field in the
 * writer's order, matched to the reader by name as the resolver matches them.
 */
import type avro from 'avsc';
import { bulkCandidate } from '../detect/bulk-mail-access.js';
import type { DetectionConfig } from '../detect/types.js';
import type { ExchangeMailboxActivity } from '../model/activity.js';
import { HEADER_SIZE, MAGIC_BYTE } from './avro-codec.js';
import {
  branch,
  cursor,
  isInt32,
  readLong,
  shapeOf,
  skipperOf,
  type AvroType,
  type Step as SkipStep,
} from './avro-skip.js';

/** The verdicts: decode the record fully, or its class. */
export const FALLBACK = 0;
export const OWNER = 1;
export const SYSTEM = 2;
export type RawVerdict = typeof FALLBACK | typeof OWNER | typeof SYSTEM;

/** Text fields read (start and byte length in the buffer; start −1: null). */
const ID = 0;
const USER_ID = 1;
const OWNER_UPN = 2;
const OWNER_SID = 3;
const MASTER_SID = 4;
const LOGON_SID = 5;
const MAIL_ACCESS_TYPE = 6;
const CLIENT_INFO = 7;
const TEXTS = 8;

/** Number fields read (NaN: null). */
const TIME = 0;
const USER_TYPE = 1;
const LOGON_TYPE = 2;
const OPERATION_COUNT = 3;
const THROTTLED = 4; // 1 true, 0 false
const FOLDERS = 5; // 1 when the array has an item, 0 when empty
const NUMBERS = 6;

const TEXT_FIELDS: Record<string, { slot: number; required: boolean }> = {
  id: { slot: ID, required: true },
  user_id: { slot: USER_ID, required: true },
  mailbox_owner_upn: { slot: OWNER_UPN, required: false },
  mailbox_owner_sid: { slot: OWNER_SID, required: false },
  mailbox_owner_master_account_sid: { slot: MASTER_SID, required: false },
  logon_user_sid: { slot: LOGON_SID, required: false },
  mail_access_type: { slot: MAIL_ACCESS_TYPE, required: false },
  client_info_string: { slot: CLIENT_INFO, required: false },
};
type NumberKind = 'long' | 'int' | 'boolean' | 'array';
const NUMBER_FIELDS: Record<string, { slot: number; required: boolean; kind: NumberKind }> = {
  creation_time: { slot: TIME, required: true, kind: 'long' },
  user_type: { slot: USER_TYPE, required: true, kind: 'int' },
  logon_type: { slot: LOGON_TYPE, required: false, kind: 'int' },
  operation_count: { slot: OPERATION_COUNT, required: false, kind: 'long' },
  is_throttled: { slot: THROTTLED, required: false, kind: 'boolean' },
  folder_paths: { slot: FOLDERS, required: false, kind: 'array' },
};

/** One field's step: reads or skips it from `pos`; the next position, or −1 (fall back). */
type Step = SkipStep<Walk>;

/** What one walk found. */
interface Walk {
  starts: Int32Array;
  lengths: Int32Array;
  numbers: Float64Array;
}

// ───────────────────────────── reading ─────────────────────────────

function textStep(slot: number, type: AvroType): Step | null {
  const shape = shapeOf(type, ['string']);
  if (shape === null) return null;
  const { nullIndex, valueIndex } = shape;
  return (buf, pos, state) => {
    const present = branch(buf, pos, nullIndex, valueIndex);
    if (present < 0) return -1;
    if (present === 0) return cursor; // starts were reset to −1 (null)
    const length = readLong(buf, cursor);
    if (cursor < 0 || length < 0 || cursor + length > buf.length) return -1;
    state.starts[slot] = cursor;
    state.lengths[slot] = length;
    return cursor + length;
  };
}

function numberStep(
  slot: number,
  kind: NumberKind,
  type: AvroType,
  seen: Map<AvroType, SkipStep>,
): Step | null {
  if (kind === 'array') {
    const shape = shapeOf(type, ['array']);
    if (shape === null) return null;
    const arrayType = shape.nullIndex < 0 ? type : (type.types![shape.valueIndex] as AvroType);
    const skipArray = skipperOf(arrayType, seen);
    if (skipArray === null) return null;
    const { nullIndex, valueIndex } = shape;
    return (buf, pos, state) => {
      const present = branch(buf, pos, nullIndex, valueIndex);
      if (present < 0) return -1;
      if (present === 0) return cursor;
      const start = cursor;
      const count = readLong(buf, start);
      if (cursor < 0) return -1;
      state.numbers[slot] = count === 0 ? 0 : 1;
      return skipArray(buf, start, state);
    };
  }
  // A writer int is read as the reader's long too (Avro's promotion), so `long` takes both.
  const shape = shapeOf(type, kind === 'long' ? ['long', 'int'] : [kind]);
  if (shape === null) return null;
  const { nullIndex, valueIndex } = shape;
  const valueType =
    shape.nullIndex < 0 ? type.typeName : (type.types![shape.valueIndex] as AvroType).typeName;
  return (buf, pos, state) => {
    const present = branch(buf, pos, nullIndex, valueIndex);
    if (present < 0) return -1;
    if (present === 0) return cursor;
    if (valueType === 'boolean') {
      if (cursor >= buf.length) return -1;
      state.numbers[slot] = buf[cursor] === 0 ? 0 : 1;
      return cursor + 1;
    }
    const n = readLong(buf, cursor);
    if (cursor < 0 || (valueType === 'int' && !isInt32(n))) return -1;
    state.numbers[slot] = n;
    return cursor;
  };
}

/** The steps for one writer schema, or null when it has a field shape this cannot walk. */
function planOf(writer: AvroType): Step[] | null {
  if (writer.typeName !== 'record' || writer.fields === undefined) return null;
  const seen = new Map<AvroType, SkipStep>();
  const steps: Step[] = [];
  const found = new Set<string>();
  for (const field of writer.fields) {
    const text = TEXT_FIELDS[field.name];
    const number = NUMBER_FIELDS[field.name];
    let step: Step | null;
    if (text !== undefined) step = textStep(text.slot, field.type);
    else if (number !== undefined) step = numberStep(number.slot, number.kind, field.type, seen);
    else step = skipperOf(field.type, seen);
    if (step === null) return null;
    found.add(field.name);
    steps.push(step);
  }
  // A required field the writer lacks: the resolver would have refused it; no plan either way.
  for (const [name, spec] of [...Object.entries(TEXT_FIELDS), ...Object.entries(NUMBER_FIELDS)])
    if (spec.required && !found.has(name)) return null;
  return steps;
}

// ───────────────────────────── classifying ─────────────────────────────

const SYSTEM_SIDS = ['S-1-5-18', 'S-1-5-19', 'S-1-5-20'].map((sid) => Buffer.from(sid, 'latin1'));
const NT_AUTHORITY = Buffer.from('NT AUTHORITY\\', 'latin1');

/** Upper-case of an ASCII byte. */
function upper(b: number): number {
  return b >= 97 && b <= 122 ? b - 32 : b;
}

function isAscii(buf: Buffer, start: number, length: number): boolean {
  for (let i = start; i < start + length; i++) if (buf[i]! >= 0x80) return false;
  return true;
}

/** ASCII whitespace JavaScript's trim removes (TAB, LF, VT, FF, CR, space). */
function isSpace(b: number): boolean {
  return b === 32 || (b >= 9 && b <= 13);
}

/** Two ASCII byte ranges equal ignoring ASCII case (what sameText decides for ASCII text). */
function sameAscii(buf: Buffer, a: number, aLength: number, b: number, bLength: number): boolean {
  if (aLength !== bLength) return false;
  for (let i = 0; i < aLength; i++) if (upper(buf[a + i]!) !== upper(buf[b + i]!)) return false;
  return true;
}

/** A text field as avsc would decode it (utf8Slice), or null. */
function textOf(buf: Buffer, walk: Walk, slot: number): string | null {
  const start = walk.starts[slot]!;
  return start < 0 ? null : buf.toString('utf8', start, start + walk.lengths[slot]!);
}

/**
 * Classifies Confluent-framed activity records on their bytes for one core's configuration (the
 * mailbox side's). `prepare` the codec first: the plans come from the writer schemas it resolved.
 */
export class RawClassifier {
  /** The event time (creation_time) of the record the last OWNER or SYSTEM verdict was about. */
  time = Number.NaN;
  /**
   * The last record walked to its end: every array and map count in it fits its bytes, so the codec need
   * not walk it again before avsc decodes it (`AvroCodec.decode`'s `blocksChecked`).
   */
  walkedWhole: Buffer | null = null;
  private readonly plans = new Map<number, Step[] | null>();
  private lastId = -1;
  private lastPlan: Step[] | null = null;
  private readonly walk: Walk = {
    starts: new Int32Array(TEXTS),
    lengths: new Int32Array(TEXTS),
    numbers: new Float64Array(NUMBERS),
  };
  private readonly ignoreSystem: boolean;
  private readonly ignoreLogonTypes: readonly number[];
  private readonly bulk: DetectionConfig['rules']['bulkMailAccess'] | null;

  constructor(
    detection: DetectionConfig,
    /** The writer schema of an id, when the codec resolved it against the reader; else undefined. */
    private readonly writerOf: (id: number) => avro.Type | undefined,
  ) {
    this.ignoreSystem = detection.ignoreSystem;
    this.ignoreLogonTypes = detection.ignoreSystem ? [...detection.ignoreLogonTypes] : [];
    this.bulk = detection.rules.bulkMailAccess.enabled ? detection.rules.bulkMailAccess : null;
  }

  /** OWNER or SYSTEM (with `time` set) when the full path would say so; FALLBACK otherwise. */
  classify(value: Buffer | null): RawVerdict {
    this.walkedWhole = null;
    if (value === null || value.length <= HEADER_SIZE || value[0] !== MAGIC_BYTE) return FALLBACK;
    const id = value[1]! * 0x1000000 + ((value[2]! << 16) | (value[3]! << 8) | value[4]!);
    let plan = this.lastPlan;
    if (id !== this.lastId) {
      plan = this.planFor(id);
      if (plan === null) return FALLBACK;
      this.lastId = id;
      this.lastPlan = plan;
    }
    if (plan === null) return FALLBACK;
    const walk = this.walk;
    walk.starts.fill(-1);
    walk.lengths.fill(0);
    walk.numbers.fill(Number.NaN);
    let pos = HEADER_SIZE;
    for (let i = 0; i < plan.length; i++) {
      pos = plan[i]!(value, pos, walk);
      if (pos < 0) return FALLBACK;
    }
    // avsc refuses trailing bytes; parseRecord refuses an empty id, an unsafe time or count.
    if (pos !== value.length) return FALLBACK;
    this.walkedWhole = value;
    if (walk.lengths[ID] === 0) return FALLBACK;
    const numbers = walk.numbers;
    const time = numbers[TIME]!;
    if (!Number.isSafeInteger(time)) return FALLBACK;
    const count = numbers[OPERATION_COUNT]!;
    if (!Number.isNaN(count) && count < 0) return FALLBACK;
    const verdict = this.decide(value, walk);
    if (verdict === OWNER && this.bulk !== null && this.couldCountForBulk(value, walk)) return FALLBACK;
    if (verdict !== FALLBACK) this.time = time;
    return verdict;
  }

  /** The verdict of createClassifier (classify.ts), step by step, where bytes decide it. */
  private decide(buf: Buffer, walk: Walk): RawVerdict {
    const { starts, lengths, numbers } = walk;
    const logonType = numbers[LOGON_TYPE]!;
    if (this.ignoreSystem) {
      if (!Number.isNaN(logonType) && this.ignoreLogonTypes.includes(logonType)) return SYSTEM;
      const sid = this.systemSid(buf, starts[LOGON_SID]!, lengths[LOGON_SID]!);
      if (sid !== 0) return sid === 1 ? SYSTEM : FALLBACK;
      const user = this.systemSid(buf, starts[USER_ID]!, lengths[USER_ID]!);
      if (user !== 0) return user === 1 ? SYSTEM : FALLBACK;
      const nt = this.ntAuthority(buf, starts[USER_ID]!, lengths[USER_ID]!);
      if (nt !== 0) return nt === 1 ? SYSTEM : FALLBACK;
    }
    const userType = numbers[USER_TYPE]!;
    if (userType === 5 || userType === 6) return FALLBACK; // an app's access: never the owner's
    const logonSid = lengths[LOGON_SID]! > 0;
    if (logonSid && (lengths[OWNER_SID]! > 0 || lengths[MASTER_SID]! > 0)) {
      return this.same(buf, LOGON_SID, OWNER_SID, walk) || this.same(buf, LOGON_SID, MASTER_SID, walk)
        ? OWNER
        : FALLBACK;
    }
    if (logonType === 0) return OWNER;
    return this.sameTrimmed(buf, USER_ID, OWNER_UPN, walk) ? OWNER : FALLBACK;
  }

  /** sameText of two text fields, when bytes prove it: identical bytes, or ASCII equal ignoring case. */
  private same(buf: Buffer, a: number, b: number, walk: Walk): boolean {
    const aStart = walk.starts[a]!;
    const bStart = walk.starts[b]!;
    const aLength = walk.lengths[a]!;
    const bLength = walk.lengths[b]!;
    if (aStart < 0 || bStart < 0 || aLength === 0 || aLength !== bLength) return false;
    // Equal bytes are equal text; bytes that differ must both be ASCII letters of one case pair.
    for (let i = 0; i < aLength; i++) {
      const x = buf[aStart + i]!;
      const y = buf[bStart + i]!;
      if (x === y) continue;
      if (x >= 0x80 || y >= 0x80 || upper(x) !== upper(y)) return false;
    }
    return true;
  }

  /** sameText(a.trim(), b?.trim()) for ASCII text (anything else: not proven, so false). */
  private sameTrimmed(buf: Buffer, a: number, b: number, walk: Walk): boolean {
    let aStart = walk.starts[a]!;
    let bStart = walk.starts[b]!;
    if (aStart < 0 || bStart < 0) return false;
    let aEnd = aStart + walk.lengths[a]!;
    let bEnd = bStart + walk.lengths[b]!;
    if (!isAscii(buf, aStart, aEnd - aStart) || !isAscii(buf, bStart, bEnd - bStart)) return false;
    while (aStart < aEnd && isSpace(buf[aStart]!)) aStart++;
    while (aEnd > aStart && isSpace(buf[aEnd - 1]!)) aEnd--;
    while (bStart < bEnd && isSpace(buf[bStart]!)) bStart++;
    while (bEnd > bStart && isSpace(buf[bEnd - 1]!)) bEnd--;
    if (aEnd === aStart) return false;
    return sameAscii(buf, aStart, aEnd - aStart, bStart, bEnd - bStart);
  }

  /** isSystemSid on bytes: 1 yes, 0 no, −1 cannot tell (non-ASCII text of a length that could match). */
  private systemSid(buf: Buffer, start: number, length: number): number {
    if (start < 0 || length < 8) return 0;
    if (!isAscii(buf, start, length)) return length <= 30 ? -1 : 0; // 10 UTF-16 units are ≤ 30 bytes
    if (length > 10) return 0;
    for (const sid of SYSTEM_SIDS)
      if (sid.length === length) {
        let equal = true;
        for (let i = 0; i < length && equal; i++) equal = upper(buf[start + i]!) === sid[i];
        if (equal) return 1;
      }
    return 0;
  }

  /** isNtAuthority on bytes: 1 yes, 0 no, −1 cannot tell (non-ASCII text). */
  private ntAuthority(buf: Buffer, start: number, length: number): number {
    if (start < 0) return 0;
    if (!isAscii(buf, start, length)) return -1;
    if (length <= NT_AUTHORITY.length) return 0;
    for (let i = 0; i < NT_AUTHORITY.length; i++) if (upper(buf[start + i]!) !== NT_AUTHORITY[i]) return 0;
    return 1;
  }

  /**
   * Whether an owner's record could count for bulk_mail_access (then it goes on to the rules, and is
   * decoded fully). The predicate itself is bulk-mail-access.ts's, on the few fields it reads.
   */
  private couldCountForBulk(buf: Buffer, walk: Walk): boolean {
    const { starts, numbers } = walk;
    const throttled = numbers[THROTTLED]!;
    const count = numbers[OPERATION_COUNT]!;
    const folders = numbers[FOLDERS]!;
    if (throttled === 1) return true;
    if (!Number.isNaN(count) && count >= this.bulk!.operationCount) return true;
    if (starts[MAIL_ACCESS_TYPE]! < 0 || Number.isNaN(folders) || folders === 0) return false;
    const record = {
      is_throttled: Number.isNaN(throttled) ? null : throttled === 1,
      operation_count: Number.isNaN(count) ? null : count,
      mail_access_type: textOf(buf, walk, MAIL_ACCESS_TYPE),
      client_info_string: textOf(buf, walk, CLIENT_INFO),
      folder_paths: ['(some folder)'],
    } as unknown as ExchangeMailboxActivity;
    return bulkCandidate(record, this.bulk!, false);
  }

  private planFor(id: number): Step[] | null {
    let plan = this.plans.get(id);
    if (plan === undefined) {
      const writer = this.writerOf(id);
      if (writer === undefined) return null; // not prepared, or unusable: the codec decides
      plan = planOf(writer as unknown as AvroType);
      this.plans.set(id, plan);
    }
    return plan;
  }
}
