/**
 * Walking Confluent-framed Avro without decoding it: zig-zag varints read as avsc reads them, and a skip
 * step per writer type that checks what avsc would refuse. Used by the raw-bytes classifier
 * (raw-classify.ts) and by the codec's guard against block counts that run past a record's bytes
 * (`blockGuardOf`): avsc reads an array's or a map's count and then that many items whatever the bytes
 * left, so one corrupted count made it push items until the heap ran out.
 */

/** The minimal shape of an avsc Type this needs. */
export interface AvroType {
  readonly typeName: string;
  readonly types?: AvroType[];
  readonly fields?: { name: string; type: AvroType }[];
  readonly itemsType?: AvroType;
  readonly valuesType?: AvroType;
  readonly symbols?: string[];
  readonly size?: number;
}

/** One value's step: reads or skips it from `pos`; the next position, or −1 (stop: fall back or refuse). */
export type Step<S = unknown> = (buf: Buffer, pos: number, state: S) => number;

/** The block count of the last array or map that held more items than its bytes could (0: none). */
let overrun = 0;

// ───────────────────────────── varints ─────────────────────────────

/** Where the last readLong ended (−1: ran past the end, or not a safe integer). */
export let cursor = 0;

/** A zig-zag varint as avsc reads it, or NaN (cursor −1) when avsc might read it differently. */
export function readLong(buf: Buffer, pos: number): number {
  const end = buf.length;
  if (pos >= end) {
    cursor = -1;
    return NaN;
  }
  let b = buf[pos++]!;
  if (b < 0x80) {
    // One byte, most varints here (union indexes, short strings' lengths): no arithmetic beyond the zig-zag.
    cursor = pos;
    return (b >>> 1) ^ -(b & 1);
  }
  let n = b & 0x7f;
  let scale = 128;
  while (b & 0x80) {
    if (pos >= end || scale > 2 ** 56) {
      cursor = -1;
      return NaN;
    }
    b = buf[pos++]!;
    n += (b & 0x7f) * scale;
    scale *= 128;
  }
  if (n > Number.MAX_SAFE_INTEGER) {
    cursor = -1;
    return NaN;
  }
  cursor = pos;
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

export function isInt32(n: number): boolean {
  return (n | 0) === n;
}

// ───────────────────────────── skipping ─────────────────────────────

/** A step that skips one value of `type`, checking what avsc would reject; null for a type it cannot skip. */
export function skipperOf(type: AvroType, seen = new Map<AvroType, Step>()): Step | null {
  const known = seen.get(type);
  if (known !== undefined) return known;
  let inner: Step | null = null;
  // Recursive types (a record that contains itself) refer back through this indirection.
  const step: Step = (buf, pos, state) => inner!(buf, pos, state);
  seen.set(type, step);
  inner = buildSkipper(type, seen);
  if (inner === null) {
    seen.delete(type);
    return null;
  }
  return inner;
}

function buildSkipper(type: AvroType, seen: Map<AvroType, Step>): Step | null {
  switch (type.typeName) {
    case 'null':
      return (_buf, pos) => pos;
    case 'boolean':
      return (buf, pos) => (pos < buf.length ? pos + 1 : -1);
    case 'int':
      return (buf, pos) => {
        const n = readLong(buf, pos);
        return isInt32(n) ? cursor : -1;
      };
    case 'long':
      return (buf, pos) => {
        readLong(buf, pos);
        return cursor;
      };
    case 'float':
      return (buf, pos) => (pos + 4 <= buf.length ? pos + 4 : -1);
    case 'double':
      return (buf, pos) => (pos + 8 <= buf.length ? pos + 8 : -1);
    case 'string':
    case 'bytes':
      return (buf, pos) => {
        const b = buf[pos];
        if (b !== undefined && b < 0x80) {
          // A length below 64 in one byte (an odd byte would be a negative length).
          const end = pos + 1 + (b >>> 1);
          return (b & 1) === 0 && end <= buf.length ? end : -1;
        }
        const length = readLong(buf, pos);
        if (cursor < 0 || length < 0 || cursor + length > buf.length) return -1;
        return cursor + length;
      };
    case 'fixed': {
      const size = type.size ?? -1;
      if (size < 0) return null;
      return (buf, pos) => (pos + size <= buf.length ? pos + size : -1);
    }
    case 'enum': {
      const symbols = type.symbols?.length ?? 0;
      return (buf, pos) => {
        const index = readLong(buf, pos);
        return index >= 0 && index < symbols ? cursor : -1;
      };
    }
    case 'array':
    case 'map': {
      const item = type.typeName === 'array' ? type.itemsType : type.valuesType;
      if (item === undefined) return null;
      const skipItem = skipperOf(item, seen);
      const skipKey = type.typeName === 'map' ? buildSkipper({ typeName: 'string' }, seen) : null;
      if (skipItem === null) return null;
      const width = minWidth(item) + (skipKey === null ? 0 : 1);
      return (buf, pos, state) => {
        for (;;) {
          let count = readLong(buf, pos);
          if (cursor < 0) return -1;
          pos = cursor;
          if (count === 0) return pos;
          if (count < 0) {
            count = -count;
            readLong(buf, pos); // the block's size in bytes
            if (cursor < 0) return -1;
            pos = cursor;
          }
          // More items than the bytes left can hold: corrupt (avsc would read them all, past the end).
          if (width > 0 ? count * width > buf.length - pos : count > 8 * buf.length) {
            overrun = count;
            return -1;
          }
          for (let i = 0; i < count; i++) {
            if (skipKey !== null) pos = skipKey(buf, pos, state);
            if (pos >= 0) pos = skipItem(buf, pos, state);
            if (pos < 0) return -1;
          }
        }
      };
    }
    case 'record':
    case 'error': {
      const steps: Step[] = [];
      for (const field of type.fields ?? []) {
        const step = skipperOf(field.type, seen);
        if (step === null) return null;
        steps.push(step);
      }
      return (buf, pos, state) => {
        for (let i = 0; i < steps.length && pos >= 0; i++) pos = steps[i]!(buf, pos, state);
        return pos;
      };
    }
    default: {
      if (!type.typeName.startsWith('union')) return null;
      const branches: Step[] = [];
      for (const branch of type.types ?? []) {
        const step = skipperOf(branch, seen);
        if (step === null) return null;
        branches.push(step);
      }
      if (branches.length === 2) {
        // The common optional field, [null, T] or [T, null]: the index is one byte, 0 or 2 (zig-zag of 0, 1).
        const [first, second] = branches as [Step, Step];
        return (buf, pos, state) => {
          const b = buf[pos];
          if (b === 0) return first(buf, pos + 1, state);
          if (b === 2) return second(buf, pos + 1, state);
          return -1;
        };
      }
      return (buf, pos, state) => {
        const index = readLong(buf, pos);
        if (!(index >= 0 && index < branches.length)) return -1;
        return branches[index]!(buf, cursor, state);
      };
    }
  }
}

/**
 * For a field classification reads: the writer type's branches as (null or the expected kind). Null when
 * the writer type is anything else (then no plan: every record of that schema is decoded fully).
 */
export function shapeOf(
  type: AvroType,
  kinds: readonly string[],
): { nullIndex: number; valueIndex: number } | null {
  if (kinds.includes(type.typeName)) return { nullIndex: -1, valueIndex: -1 };
  if (!type.typeName.startsWith('union') || type.types === undefined || type.types.length !== 2) return null;
  const names = type.types.map((t) => t.typeName);
  const nullIndex = names.indexOf('null');
  const valueIndex = names.findIndex((name) => kinds.includes(name));
  if (nullIndex < 0 || valueIndex < 0) return null;
  return { nullIndex, valueIndex };
}

/** Reads the union index of an optional field: 1 value follows, 0 null, −1 invalid. Sets `cursor`. */
export function branch(buf: Buffer, pos: number, nullIndex: number, valueIndex: number): number {
  if (nullIndex < 0) {
    cursor = pos;
    return 1;
  }
  cursor = pos + 1;
  const b = buf[pos];
  if (b === 2 * valueIndex) return 1;
  if (b === 2 * nullIndex) return 0;
  const index = readLong(buf, pos);
  if (index === valueIndex) return 1;
  if (index === nullIndex) return 0;
  return -1;
}

// ───────────────────────────── the codec's guard ─────────────────────────────

/** The fewest bytes a value of `type` takes (a union's branch index, an array's end of blocks: one byte). */
function minWidth(type: AvroType, depth = 0): number {
  switch (type.typeName) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return type.size ?? 0;
    case 'record':
    case 'error': {
      if (depth > 32) return 0; // a recursive record: its fields' widths are a bound, not needed exactly
      let sum = 0;
      for (const field of type.fields ?? []) sum += minWidth(field.type, depth + 1);
      return sum;
    }
    default:
      return 1; // boolean, int, long, enum, string, bytes, array, map, union
  }
}

/** Whether a value of `type` can hold an array or a map. */
function hasBlocks(type: AvroType, seen = new Set<AvroType>()): boolean {
  if (seen.has(type)) return false;
  seen.add(type);
  if (type.typeName === 'array' || type.typeName === 'map') return true;
  for (const field of type.fields ?? []) if (hasBlocks(field.type, seen)) return true;
  for (const branch of type.types ?? []) if (hasBlocks(branch, seen)) return true;
  return false;
}

/**
 * For a writer schema with arrays or maps: a check, run before avsc decodes a record, that names a block
 * count the record's bytes cannot hold (null when every count fits; the rest is left to avsc, which
 * refuses truncated and corrupt records by itself). Null when the schema has no arrays or maps, or has a
 * type this cannot walk.
 */
export function blockGuardOf(writer: AvroType): ((buf: Buffer, pos: number) => string | null) | null {
  if (!hasBlocks(writer)) return null;
  const walk = skipperOf(writer);
  if (walk === null) return null;
  return (buf, pos) => {
    overrun = 0;
    if (walk(buf, pos, undefined) >= 0 || overrun === 0) return null;
    return `an array or map block count of ${overrun} runs past the record's ${buf.length} bytes`;
  };
}
