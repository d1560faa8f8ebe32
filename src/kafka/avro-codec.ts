import avro from 'avsc';
import { DecodeError, ErrorCodes } from '../errors.js';
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

type Writer = { resolver: avro.Resolver } | { error: DecodeError };

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
 */
export class AvroCodec<T> {
  private readonly writers = new Map<number, Writer>();

  constructor(
    private readonly registry: RegistryClient,
    private readonly reader: avro.Type,
    _options: AvroCodecOptions = {},
  ) {}

  /** Loads the writer schemas of these values that are not cached yet. Unreachable registry → throws. */
  async prepare(values: Iterable<Buffer | null>): Promise<void> {
    const missing = new Set<number>();
    for (const value of values) {
      if (value === null || value.length < HEADER_SIZE || value[0] !== MAGIC_BYTE) continue;
      const id = value.readUInt32BE(1);
      if (!this.writers.has(id)) missing.add(id);
    }
    for (const id of missing) await this.load(id);
  }

  /** Adds a writer schema known without the registry (tests, benchmarks, our own producer). */
  addWriter(id: number, writer: avro.Type): void {
    this.writers.set(id, this.resolve(id, writer));
  }

  decode(value: Buffer | null): T {
    const id = schemaIdOf(value);
    const writer = this.writers.get(id);
    if (writer === undefined)
      throw new DecodeError(ErrorCodes.DECODE_UNKNOWN_SCHEMA, `schema id ${id} was not prepared`);
    if ('error' in writer) throw writer.error;
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
    try {
      schema = await this.registry.getSchema(id);
    } catch (error) {
      // An answer (404, or not Avro) makes the id poison; no answer at all is thrown to the caller.
      if (!(error instanceof RegistryResponseError) || error.retriable) throw error;
      const code =
        error.status === 404 ? ErrorCodes.DECODE_UNKNOWN_SCHEMA : ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA;
      // Cached for this process (ids are never reused); a restart asks again.
      this.writers.set(id, { error: new DecodeError(code, `schema id ${id}: ${error.message}`) });
      return;
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
      return { resolver: this.reader.createResolver(writer) };
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
