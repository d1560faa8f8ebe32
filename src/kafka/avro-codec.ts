import avro from 'avsc';
import { DecodeError, ErrorCodes } from '../errors.js';
import { blockGuardOf, type AvroType } from './avro-skip.js';
import { RegistryResponseError, type RegistryClient } from './registry.js';

/** Confluent wire format: magic byte 0, 4-byte big-endian schema id, Avro binary. */
export const MAGIC_BYTE = 0;
export const HEADER_SIZE = 5;

/** Frames an Avro payload in the Confluent wire format. */
export function frame(schemaId: number, payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER_SIZE + payload.length);
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  payload.copy(out, HEADER_SIZE);
  return out;
}

/** The schema id of a framed value, or a DecodeError saying why there is none. */
export function schemaIdOf(value: Buffer | null): number {
  if (value === null || value.length === 0)
    throw new DecodeError(ErrorCodes.DECODE_EMPTY, 'empty message value');
  if (value[0] !== MAGIC_BYTE)
    throw new DecodeError(
      ErrorCodes.DECODE_NO_MAGIC_BYTE,
      `no Confluent magic byte (first byte 0x${value[0]!.toString(16)})`,
    );
  if (value.length < HEADER_SIZE)
    throw new DecodeError(
      ErrorCodes.DECODE_TRUNCATED,
      `message of ${value.length} bytes is shorter than the 5-byte header`,
    );
  return value.readUInt32BE(1);
}

/** A resolver, or the verdict on the id; "unknown" verdicts expire, the registry may catch up. */
type Writer =
  | { resolver: avro.Resolver; type: avro.Type; guard: ((buf: Buffer, pos: number) => string | null) | null }
  | { error: DecodeError; until?: number };

export interface AvroCodecOptions {
  /** Attempts at a schema id the registry answers 404 for before it is DECODE_UNKNOWN_SCHEMA. */
  unknownSchemaAttempts?: number;
  /** How long an id stays DECODE_UNKNOWN_SCHEMA before the registry is asked again. */
  unknownSchemaTtlMs?: number;
}

/**
 * Decodes Confluent-framed Avro into the project's reader schema. Writer schemas are fetched from the
 * registry once per id and resolved against the reader (so a later writer version that adds fields still
 * decodes). `prepare` is async (registry I/O); `decode` is synchronous and runs per record.
 *
 * Only the registry's answer about the schema itself becomes a verdict on the records that carry its id:
 * a schema the reader cannot read is DECODE_INCOMPATIBLE_SCHEMA for good (ids are immutable); an id the
 * registry does not know, after a few attempts (a follower may lag behind the leader that gave the
 * producer its id), is DECODE_UNKNOWN_SCHEMA for `unknownSchemaTtlMs`. No answer, 5xx, 4xx other than 404
 * and refused credentials are no verdict: `prepare` throws REGISTRY_UNAVAILABLE / REGISTRY_UNAUTHORIZED,
 * caches nothing, and the caller tries again later.
 */
export class AvroCodec<T> {
  private readonly writers = new Map<number, Writer>();
  private readonly unknownSchemaAttempts: number;
  private readonly unknownSchemaTtlMs: number;

  constructor(
    private readonly registry: RegistryClient,
    private readonly reader: avro.Type,
    options: AvroCodecOptions = {},
  ) {
    this.unknownSchemaAttempts = options.unknownSchemaAttempts ?? 4; // 250 + 500 + 1000 ms between them
    this.unknownSchemaTtlMs = options.unknownSchemaTtlMs ?? 60_000; // one minute
  }

  /**
   * Loads the writer schemas of these values that are not cached yet (or whose "unknown" verdict
   * expired). Resolves once every id has a resolver or a verdict; throws a RadarError coded
   * REGISTRY_UNAVAILABLE or REGISTRY_UNAUTHORIZED when the registry cannot be used, after the client's
   * bounded retries.
   */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const missing = new Set<number>();
    const now = Date.now();
    for (const value of values) {
      if (value === null || value.length < HEADER_SIZE || value[0] !== MAGIC_BYTE) continue;
      const id = value.readUInt32BE(1);
      const writer = this.writers.get(id);
      if (writer === undefined || ('error' in writer && writer.until !== undefined && writer.until <= now))
        missing.add(id);
    }
    const results = await Promise.allSettled([...missing].map((id) => this.load(id)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Adds a writer schema known without the registry (tests, benchmarks, our own producer). */
  addWriter(id: number, writer: avro.Type): void {
    this.writers.set(id, this.resolve(id, writer));
  }

  /** The writer schema of `id` once it resolved against the reader; undefined before, or when it did not. */
  writerType(id: number): avro.Type | undefined {
    const writer = this.writers.get(id);
    return writer !== undefined && 'type' in writer ? writer.type : undefined;
  }

  /** `blocksChecked`: the caller walked this record's bytes and every array and map count fits them. */
  decode(value: Buffer | null, blocksChecked = false): T {
    const id = schemaIdOf(value);
    const writer = this.writers.get(id);
    if (writer === undefined)
      throw new DecodeError(ErrorCodes.DECODE_UNKNOWN_SCHEMA, `schema id ${id} was not prepared`);
    if ('error' in writer) throw writer.error;
    // avsc would read a corrupted array or map count's worth of items, past the end, until the heap ran out.
    const overrun = blocksChecked ? null : writer.guard?.(value!, HEADER_SIZE);
    if (overrun)
      throw new DecodeError(ErrorCodes.DECODE_CORRUPT, `invalid Avro for schema id ${id}: ${overrun}`);
    let result: { value: unknown; offset: number };
    try {
      result = this.reader.decode(value!, HEADER_SIZE, writer.resolver);
    } catch (error) {
      throw new DecodeError(
        ErrorCodes.DECODE_CORRUPT,
        `invalid Avro for schema id ${id}: ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
    if (result.offset < 0)
      throw new DecodeError(
        ErrorCodes.DECODE_TRUNCATED,
        `Avro payload truncated (schema id ${id}, ${value!.length} bytes)`,
      );
    if (result.offset !== value!.length)
      throw new DecodeError(
        ErrorCodes.DECODE_CORRUPT,
        `${value!.length - result.offset} trailing bytes after the Avro record (schema id ${id})`,
      );
    return result.value as T;
  }

  private async load(id: number): Promise<void> {
    let schema: unknown;
    for (let attempt = 1, delay = 250; ; attempt++, delay *= 2) {
      try {
        schema = await this.registry.getSchema(id);
        break;
      } catch (error) {
        if (error instanceof DecodeError) {
          this.writers.set(id, { error }); // not Avro: no later answer changes that
          return;
        }
        if (!(error instanceof RegistryResponseError) || error.status !== 404) throw error; // no verdict
        if (attempt >= this.unknownSchemaAttempts) {
          this.writers.set(id, {
            error: new DecodeError(
              ErrorCodes.DECODE_UNKNOWN_SCHEMA,
              `schema id ${id} is not in the registry (${attempt} attempts): ${error.message}`,
            ),
            until: Date.now() + this.unknownSchemaTtlMs,
          });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    let writer: avro.Type;
    try {
      writer = avro.Type.forSchema(schema as avro.Schema);
    } catch (error) {
      this.writers.set(id, {
        error: new DecodeError(
          ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA,
          `schema id ${id} is not valid Avro: ${(error as Error).message}`,
        ),
      });
      return;
    }
    this.writers.set(id, this.resolve(id, writer));
  }

  private resolve(id: number, writer: avro.Type): Writer {
    try {
      const resolver = this.reader.createResolver(writer);
      return { resolver, type: writer, guard: blockGuardOf(writer as unknown as AvroType) };
    } catch (error) {
      return {
        error: new DecodeError(
          ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA,
          `schema id ${id} cannot be read as ${this.reader.name ?? 'the reader schema'}: ${(error as Error).message}`,
          { cause: error },
        ),
      };
    }
  }
}
