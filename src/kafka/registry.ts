import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { DecodeError, ErrorCodes, RadarError } from '../errors.js';

export interface RegistryOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  /** Extra attempts while the registry does not answer; the backoff doubles from 200 ms up to 10 s. */
  retries?: number;
  /** Per-request timeout. */
  timeoutMs?: number;
}

/**
 * An answer from the registry that is not a success. 401 and 403 are REGISTRY_UNAUTHORIZED (retriable:
 * consumption stops as in an outage until someone fixes the credentials); everything else is
 * REGISTRY_UNAVAILABLE, retriable when waiting may help (no answer, 5xx, 408, 429).
 */
export class RegistryResponseError extends RadarError {
  constructor(
    readonly status: number,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    const refused = status === 401 || status === 403;
    super(refused ? ErrorCodes.REGISTRY_UNAUTHORIZED : ErrorCodes.REGISTRY_UNAVAILABLE, message, {
      ...options,
      retriable: refused || transient(status),
    });
    this.name = 'RegistryResponseError';
  }
}

/**
 * True for the errors that mean "the registry cannot be used right now" (REGISTRY_UNAVAILABLE,
 * REGISTRY_UNAUTHORIZED), also when wrapped by kafkajs (`cause`, `originalError`): the caller pauses and
 * asks again later instead of dead-lettering or restarting.
 */
export function isRegistryOutage(error: unknown): error is RadarError {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; depth++) {
    if (
      e instanceof RadarError &&
      (e.code === ErrorCodes.REGISTRY_UNAVAILABLE || e.code === ErrorCodes.REGISTRY_UNAUTHORIZED)
    )
      return true;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return false;
}

/** The part of the library's HTTP client (mappersmith resources) this wrapper calls. */
interface RegistryApi {
  Schema: { find(params: { id: number }): Promise<ApiResponse> };
  Subject: {
    all(params?: object): Promise<ApiResponse>;
    register(params: { subject: string; body: object }): Promise<ApiResponse>;
    registered(params: { subject: string; body: object }): Promise<ApiResponse>;
  };
}
interface ApiResponse {
  data(): unknown;
}
/** What the library's error middleware throws for an answer that is not 2xx. */
interface ApiError {
  status: number;
  message: string;
  url?: string;
}

const CLIENT_ID = 'mailbox-radar';

/**
 * The Confluent schema registry REST API (Confluent's own server, or Apicurio's /apis/ccompat/v7) through
 * `@kafkajs/confluent-schema-registry`, with this project's error semantics. We call the library's HTTP
 * client (`api`: basic auth, Confluent content types, the HTTP status on every error) rather than its
 * high-level methods, because those do not fit: `getSchema` parses with the library's own avsc options and
 * caches for good, `register` also rewrites the subject's compatibility level, and `getRegistryIdBySchema`
 * drops the status of a 404. The retries are ours too (the library's are set to 0): its retry options are
 * one object shared by every client in the process (`Object.assign(DEFAULT_RETRY, retry)`), it retries
 * only GET and 5xx, and it needs to tell a refusal (never retried) from no answer.
 */
export class RegistryClient {
  private readonly base: string;
  private readonly api: RegistryApi;
  private readonly retries: number;

  constructor(options: RegistryOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.retries = options.retries ?? 5;
    const timeoutMs = options.timeoutMs ?? 5_000;
    const library = new SchemaRegistry({
      host: this.base,
      clientId: CLIENT_ID,
      retry: { retries: 0 },
      ...(options.username === undefined
        ? {}
        : { auth: { username: options.username, password: options.password ?? '' } }),
      // A registry that accepts the connection and never answers must not hang a batch.
      middlewares: [
        () => ({
          prepareRequest: (next) => next().then((request) => request.enhance({ timeout: timeoutMs })),
        }),
      ],
    });
    // The library keeps its HTTP client in a field TypeScript calls private; it is there at runtime.
    this.api = (library as unknown as { api: RegistryApi }).api;
  }

  /**
   * The writer schema (parsed JSON) registered under a global id. 404 throws RegistryResponseError with
   * status 404 (the caller decides how long to wait for a lagging registry); a schema that is not Avro or
   * not JSON is a DecodeError (DECODE_INCOMPATIBLE_SCHEMA); any other failure is an outage.
   */
  async getSchema(id: number): Promise<unknown> {
    let body: { schema?: unknown; schemaType?: unknown };
    try {
      body = (await this.call('GET', `/schemas/ids/${id}`, () =>
        this.api.Schema.find({ id }),
      )) as typeof body;
    } catch (error) {
      // A 400 or another 4xx for an id says nothing about the record: never a verdict on it.
      if (error instanceof RegistryResponseError && !error.retriable && error.status !== 404)
        throw new RadarError(ErrorCodes.REGISTRY_UNAVAILABLE, error.message, {
          cause: error,
          retriable: true,
        });
      throw error;
    }
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO')
      throw new DecodeError(
        ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA,
        `schema id ${id} is ${String(body.schemaType)}, not AVRO`,
      );
    try {
      return JSON.parse(String(body.schema));
    } catch (error) {
      throw new DecodeError(
        ErrorCodes.DECODE_INCOMPATIBLE_SCHEMA,
        `schema id ${id} is not JSON: ${(error as Error).message}`,
      );
    }
  }

  /** Registers an Avro schema under a subject; idempotent (an equal schema returns the existing id). */
  async register(subject: string, schema: object): Promise<number> {
    const params = { subject, body: { schema: JSON.stringify(schema) } };
    const path = `/subjects/${subject}/versions`;
    return this.idIn('POST', path, await this.call('POST', path, () => this.api.Subject.register(params)));
  }

  /**
   * The id under which `schema` is already registered in `subject`, or undefined when the subject or the
   * schema is not there (Confluent API `POST /subjects/{subject}` answers 404).
   */
  async lookup(subject: string, schema: object): Promise<number | undefined> {
    const params = { subject, body: { schema: JSON.stringify(schema) } };
    try {
      const path = `/subjects/${subject}`;
      return this.idIn(
        'POST',
        path,
        await this.call('POST', path, () => this.api.Subject.registered(params)),
      );
    } catch (error) {
      if (error instanceof RegistryResponseError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Registers `schema` under `<topic>-value`. */
  registerValueSchema(topic: string, schema: object): Promise<number> {
    return this.register(`${topic}-value`, schema);
  }

  /**
   * Subjects the registry holds (also a health check). An answer that is not a JSON list of names (an
   * HTML page, another API) is a RegistryResponseError with the status it came with.
   */
  async subjects(): Promise<string[]> {
    const body = await this.call('GET', '/subjects', () => this.api.Subject.all());
    if (!Array.isArray(body) || !body.every((s) => typeof s === 'string'))
      throw new RegistryResponseError(
        200,
        `registry ${this.base} answered GET /subjects with ${typeof body === 'string' ? 'text' : 'JSON'} that is not a list of subjects`,
      );
    return body;
  }

  /** The schema id in an answer, which is not the Confluent API when there is none (e.g. an HTML page). */
  private idIn(method: string, path: string, body: unknown): number {
    const id = (body as { id?: unknown } | null)?.id;
    if (typeof id === 'number') return id;
    throw new RegistryResponseError(
      200,
      `registry ${this.base} answered ${method} ${path} without a schema id`,
    );
  }

  /** One request through the library, retried with backoff while the registry does not answer. */
  private async call(method: string, path: string, request: () => Promise<ApiResponse>): Promise<unknown> {
    let delay = 200;
    for (let attempt = 1; ; attempt++) {
      let failure: RegistryResponseError;
      try {
        return (await request()).data();
      } catch (error) {
        failure = this.failure(method, path, error);
      }
      if (!transient(failure.status)) throw failure;
      if (attempt > this.retries)
        throw new RadarError(
          ErrorCodes.REGISTRY_UNAVAILABLE,
          `schema registry ${this.base} unavailable: ${method} ${path} failed ${attempt} times: ${failure.message}`,
          { cause: failure, retriable: true },
        );
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }

  private failure(method: string, path: string, error: unknown): RegistryResponseError {
    const { status, message } = error as Partial<ApiError>;
    if (typeof status !== 'number') throw error; // not an answer and not a network failure: a bug
    // The library's message is "<clientId> - <registry message>" or "... Error, status N: <body>".
    const detail = (message ?? '').replace(`${CLIENT_ID} - `, '').replace(/^Error, status \d+: /, '');
    const what = detail === '' || detail === '[object Object]' ? '' : `: ${detail}`;
    const hint = status === 401 || status === 403 ? ' (check registry.username / registry.password)' : '';
    return new RegistryResponseError(status, `registry ${method} ${path} failed (${status})${what}${hint}`, {
      cause: error,
    });
  }
}

/**
 * May waiting help? 5xx, 408 and 429 say so; the library reports no answer at all (refused, reset,
 * timed out) as status 400 and keeps only the status, so a 400 counts as possibly no answer.
 */
function transient(status: number): boolean {
  return status === 400 || status === 408 || status === 429 || status >= 500;
}
