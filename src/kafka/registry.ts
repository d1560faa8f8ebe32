import { ErrorCodes, RadarError } from '../errors.js';

export interface RegistryOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Extra attempts while the registry does not answer; the backoff doubles from 200 ms up to 10 s. */
  retries?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/** An answer from the registry that is not a success (4xx, 5xx). */
export class RegistryResponseError extends RadarError {
  constructor(
    readonly status: number,
    readonly registryCode: number | null,
    message: string,
  ) {
    // 5xx, 408 and 429 may pass; a 4xx answer will not change on retry.
    super(ErrorCodes.REGISTRY_UNAVAILABLE, message, {
      retriable: status >= 500 || status === 408 || status === 429,
    });
    this.name = 'RegistryResponseError';
  }
}

/**
 * A small client for the Confluent schema registry REST API (Confluent's own server, or Apicurio's
 * /apis/ccompat/v7). It does only what the pipeline needs — fetch a schema by id, register a subject's
 * schema — and tells a network failure (retriable) from an answer (not, unless 5xx).
 */
export class RegistryClient {
  private readonly base: string;
  private readonly headers: Record<string, string>;
  private readonly retries: number;
  private readonly timeoutMs: number;

  constructor(options: RegistryOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.headers = { Accept: 'application/vnd.schemaregistry.v1+json, application/json' };
    if (options.username !== undefined)
      this.headers.Authorization = `Basic ${Buffer.from(`${options.username}:${options.password ?? ''}`).toString('base64')}`;
    this.retries = options.retries ?? 5;
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The writer schema (parsed JSON) registered under a global id; a 404 throws RegistryResponseError. */
  async getSchema(id: number): Promise<unknown> {
    const body = (await this.call('GET', `/schemas/ids/${id}`)) as { schema?: string; schemaType?: string };
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO')
      throw new RegistryResponseError(422, null, `schema id ${id} is ${body.schemaType}, not AVRO`);
    return JSON.parse(body.schema ?? 'null');
  }

  /** Registers an Avro schema under a subject; idempotent (an equal schema returns the existing id). */
  async register(subject: string, schema: object): Promise<number> {
    const body = (await this.call('POST', `/subjects/${encodeURIComponent(subject)}/versions`, {
      schemaType: 'AVRO',
      schema: JSON.stringify(schema),
    })) as { id: number };
    return body.id;
  }

  /**
   * The id under which `schema` is already registered in `subject`, or undefined when the subject or the
   * schema is not there (Confluent API `POST /subjects/{subject}` answers 404).
   */
  async lookup(subject: string, schema: object): Promise<number | undefined> {
    try {
      const body = (await this.call('POST', `/subjects/${encodeURIComponent(subject)}`, {
        schemaType: 'AVRO',
        schema: JSON.stringify(schema),
      })) as { id: number };
      return body.id;
    } catch (error) {
      if (error instanceof RegistryResponseError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Registers `schema` under `<topic>-value`. */
  registerValueSchema(topic: string, schema: object): Promise<number> {
    return this.register(`${topic}-value`, schema);
  }

  /** Subjects the registry holds (also a health check). */
  async subjects(): Promise<string[]> {
    return (await this.call('GET', '/subjects')) as string[];
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    let delay = 200;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once(method, path, body);
      } catch (error) {
        const retriable = error instanceof RadarError ? error.retriable : true; // fetch failed: no answer
        if (!retriable) throw error;
        if (attempt > this.retries) {
          throw new RadarError(
            ErrorCodes.REGISTRY_UNAVAILABLE,
            `schema registry ${this.base} unavailable: ${method} ${path} failed ${attempt} times: ${describe(error)}`,
            { cause: error, retriable: true },
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  private async once(method: string, path: string, body?: unknown): Promise<unknown> {
    const init: RequestInit = {
      method,
      headers: { ...this.headers },
      signal: AbortSignal.timeout(this.timeoutMs),
    };
    if (body !== undefined) {
      (init.headers as Record<string, string>)['Content-Type'] = 'application/vnd.schemaregistry.v1+json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(`${this.base}${path}`, init);
    const text = await response.text();
    if (!response.ok) {
      let code: number | null = null;
      let message = text;
      try {
        const parsed = JSON.parse(text) as { error_code?: number; message?: string };
        code = parsed.error_code ?? null;
        message = parsed.message ?? text;
      } catch {
        // not JSON: keep the text
      }
      throw new RegistryResponseError(
        response.status,
        code,
        `registry answered ${response.status} to ${method} ${path}: ${message}`,
      );
    }
    return text === '' ? null : JSON.parse(text);
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const base = error instanceof Error ? error.message : String(error);
  return cause?.code !== undefined ? `${base} (${cause.code})` : base;
}
