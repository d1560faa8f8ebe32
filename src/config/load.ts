import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, ErrorCodes, RadarError } from '../errors.js';
import { configSchema } from './schema.js';
import type { Config } from './types.js';

/**
 * Loading the configuration: read the YAML (or JSON) file, lay the environment overrides over it,
 * validate once with the schema, and freeze. Every problem becomes a ConfigError naming the dotted key,
 * the value (secrets masked) and the reason; the first is thrown with the others listed in its message.
 */

export interface LoadConfigOptions {
  /** YAML or JSON file; without it, defaults plus environment. */
  file?: string | undefined;
  /** Environment to read overrides from (default: none — pass `process.env` at the edge). */
  env?: NodeJS.ProcessEnv | undefined;
}

/** Environment variables with the MAILBOX_RADAR_ prefix that are not configuration paths. */
export const RESERVED_ENV = new Set(['MAILBOX_RADAR_CONFIG']);

/**
 * The configuration's part of the MAILBOX_RADAR_ namespace: MAILBOX_RADAR_<SECTION> and
 * MAILBOX_RADAR_<SECTION>__<KEY>… for the sections of the schema, and any name with `__` (so a misspelt
 * section is refused, not ignored). MAILBOX_RADAR_<SECTION>_<WORD> is refused too: it is the `__` typo.
 * Other MAILBOX_RADAR_ names are not configuration and are not read; the project's own variables stay
 * out of the prefix anyway (RADAR_STACK_DIR, RADAR_TEST_NO_DOCKER), and a test holds it to that.
 */
export function isConfigVariable(name: string): boolean {
  if (!name.startsWith(ENV_PREFIX) || RESERVED_ENV.has(name)) return false;
  const rest = name.slice(ENV_PREFIX.length);
  return rest.includes('__') || SECTIONS.some((s) => rest === s || rest.startsWith(`${s}_`));
}

const ENV_PREFIX = 'MAILBOX_RADAR_';

/** A ConfigError that carries every problem found, not just the first. */
export class ConfigProblems extends ConfigError {
  readonly problems: readonly ConfigError[];

  constructor(problems: readonly ConfigError[]) {
    const first = problems[0] as ConfigError;
    super(first.key, first.value, first.reason);
    this.name = 'ConfigError';
    this.problems = problems;
    if (problems.length > 1) {
      this.message = [first.message, ...problems.slice(1).map((p) => `  also: ${p.message}`)].join('\n');
    }
  }
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const { input, sources } = loadConfigInput(options);
  return parseConfig(input, sources);
}

/**
 * The configuration as read, before validation: the file's object with the environment laid over it, and
 * which keys came from which variable. `parseConfig(input, sources)` gives what `loadConfig` gives; a
 * caller may change the object first (`backtest --grid` sets one key per combination).
 */
export function loadConfigInput(options: LoadConfigOptions = {}): {
  input: unknown;
  sources: ReadonlyMap<string, string>;
} {
  const file = options.file === undefined ? {} : readConfigFile(options.file);
  const sources = new Map<string, string>();
  return { input: applyEnv(file, options.env ?? {}, sources), sources };
}

/** The defaults of DESIGN.md, frozen. */
export function defaultConfig(): Config {
  return parseConfig({});
}

/**
 * Validates a configuration object (as read from YAML) and freezes it. `sources` maps dotted keys to the
 * environment variable that set them, so errors can say where a value came from.
 */
export function parseConfig(input: unknown, sources: ReadonlyMap<string, string> = new Map()): Config {
  const result = configSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigProblems(
      flattenIssues(result.error.issues).map((issue) => toConfigError(issue, input, sources)),
    );
  }
  return deepFreeze(result.data satisfies Config);
}

function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'EACCES') {
      throw new RadarError(ErrorCodes.CONFIG_NOT_FOUND, `config file ${file}: ${describeFsError(code)}`, {
        cause: error,
      });
    }
    throw error;
  }
  try {
    const parsed: unknown = parseYaml(text);
    // An empty file is an empty configuration.
    return parsed ?? {};
  } catch (error) {
    // Only the first line: the rest of a YAML error is an excerpt of the file, which may hold a password.
    const reason = String((error as Error).message).split('\n')[0];
    throw new RadarError(ErrorCodes.CONFIG_INVALID, `invalid config file ${file}: ${reason}`, {
      cause: error,
    });
  }
}

function describeFsError(code: string): string {
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  return 'permission denied';
}

// ---- environment overrides -------------------------------------------------------------------------

/**
 * Lays environment variables over the file's object: KAFKA_BROKERS and SCHEMA_REGISTRY_URL first, then
 * MAILBOX_RADAR_<SECTION>__<KEY>… (levels split by `__`, SNAKE_CASE → camelCase), whose values are read
 * as YAML scalars or flow collections (`30`, `true`, `[a, b]`, `{mechanism: plain, …}`). Usernames and
 * passwords are taken verbatim. The more specific MAILBOX_RADAR_ form wins.
 */
function applyEnv(input: unknown, env: NodeJS.ProcessEnv, sources: Map<string, string>): unknown {
  if (!isPlainObject(input)) return input; // the schema reports it
  const root: Record<string, unknown> = structuredClone(input);
  const set = (path: string[], value: unknown, variable: string): void => {
    setPath(root, path, value);
    sources.set(path.join('.'), variable);
  };
  if (env.KAFKA_BROKERS !== undefined) set(['kafka', 'brokers'], env.KAFKA_BROKERS, 'KAFKA_BROKERS');
  if (env.SCHEMA_REGISTRY_URL !== undefined)
    set(['registry', 'url'], env.SCHEMA_REGISTRY_URL, 'SCHEMA_REGISTRY_URL');
  const names = Object.keys(env).filter(isConfigVariable).sort();
  for (const name of names) {
    const raw = env[name] as string;
    if (!name.includes('__') && !SECTIONS.includes(name.slice(ENV_PREFIX.length))) {
      throw new ConfigError(
        name,
        SECRET_NAME.test(name) || /SASL/.test(name) ? '***' : raw,
        'not a configuration path: levels are split by __ (MAILBOX_RADAR_<SECTION>__<KEY>…)',
      );
    }
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .map((segment) => camelCase(segment));
    if (path.some((segment) => segment === '')) {
      throw new ConfigError(name, raw, 'not a configuration path (MAILBOX_RADAR_<SECTION>__<KEY>…)');
    }
    const last = path[path.length - 1] as string;
    set(path, VERBATIM_KEYS.has(last) ? raw : parseEnvValue(name, raw), name);
  }
  return root;
}

const VERBATIM_KEYS = new Set(['password', 'username']);

/** The schema's sections as they appear in variable names: KAFKA, DETECTION, … */
const SECTIONS: readonly string[] = Object.keys(configSchema.shape).map((section) =>
  section.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase(),
);

function camelCase(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_match, c: string) => c.toUpperCase());
}

function parseEnvValue(name: string, raw: string): unknown {
  try {
    return parseYaml(raw) as unknown;
  } catch (error) {
    throw new ConfigError(name, raw, `not a YAML value: ${String((error as Error).message).split('\n')[0]}`);
  }
}

function setPath(root: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i] as string;
    const next = node[key];
    if (!isPlainObject(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

// ---- issues → ConfigError ----------------------------------------------------------------------------

type Issue = z.core.$ZodIssue;

/** Unions report one list of issues per branch; keep the branch that got furthest into the value. */
function flattenIssues(issues: readonly Issue[], prefix: readonly PropertyKey[] = []): Issue[] {
  const out: Issue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const deepest = issue.errors
        .map((branch) => ({ branch, depth: Math.max(0, ...branch.map((i) => i.path.length)) }))
        .sort((a, b) => b.depth - a.depth)[0];
      if (deepest !== undefined && deepest.depth > 0) {
        out.push(...flattenIssues(deepest.branch, path));
        continue;
      }
    }
    out.push({ ...issue, path } as Issue);
  }
  return out;
}

function toConfigError(issue: Issue, input: unknown, sources: ReadonlyMap<string, string>): ConfigError {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] as string;
    const full = [...path, key];
    const suggestion = suggestKey(path, key);
    const others = issue.keys.length > 1 ? ` (also unknown: ${issue.keys.slice(1).join(', ')})` : '';
    return new ConfigError(
      dotted(full),
      mask(full, valueAt(input, full), true),
      `unknown key${suggestion === undefined ? '' : ` (did you mean ${suggestion}?)`}${others}${from(full, sources)}`,
    );
  }
  let value = valueAt(input, path);
  // A value the schema reshaped (a comma-separated broker string split into a list): show the original.
  while (value === undefined && issue.code !== 'invalid_type' && path.length > 0) {
    path.pop();
    value = valueAt(input, path);
  }
  let reason = issue.message;
  if (value === undefined && issue.code === 'invalid_type') reason = 'is required';
  else if (issue.code === 'invalid_type' && reason.startsWith('Invalid input'))
    reason = `must be ${article(issue.expected)}`;
  return new ConfigError(dotted(path), mask(path, value, false), `${reason}${from(path, sources)}`);
}

/** The environment variable that set this key, one of its parents, or one of its children. */
function from(path: readonly string[], sources: ReadonlyMap<string, string>): string {
  const key = path.join('.');
  for (const [source, variable] of sources) {
    if (source === key || key.startsWith(`${source}.`) || source.startsWith(`${key}.`))
      return ` (from ${variable})`;
  }
  return '';
}

function article(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a mapping';
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

function dotted(path: readonly string[]): string {
  let out = '';
  for (const segment of path) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out === '' ? '(root)' : out;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment];
  }
  return node;
}

const SECRET_NAME = /pass|secret|token|credential/i;

/** Secrets never reach an error message: passwords, anything under kafka.sasl but the mechanism. */
function mask(path: readonly string[], value: unknown, unknownKey: boolean): unknown {
  if (value === undefined) return value;
  const underSasl = path[0] === 'kafka' && path[1] === 'sasl';
  const last = path[path.length - 1] ?? '';
  if (SECRET_NAME.test(last)) return '***';
  if (underSasl && (path.length === 2 ? typeof value !== 'object' || value === null : last !== 'mechanism')) {
    return path.length === 2 && value === null ? value : '***';
  }
  if (unknownKey && (underSasl || path[0] === 'registry')) return '***';
  return maskDeep(value);
}

function maskDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskDeep);
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [key, SECRET_NAME.test(key) ? '***' : maskDeep(inner)]),
  );
}

// ---- suggestions for typos ---------------------------------------------------------------------------

interface SchemaNode {
  def: {
    type: string;
    in?: SchemaNode;
    out?: SchemaNode;
    innerType?: SchemaNode;
    element?: SchemaNode;
    shape?: Record<string, SchemaNode>;
  };
}

/** The object schema under wrappers (defaults, transforms, preprocess, nullable). */
function objectAt(path: readonly string[]): Record<string, SchemaNode> | undefined {
  let node: SchemaNode | undefined = configSchema as unknown as SchemaNode;
  for (let i = 0; ;) {
    if (node === undefined) return undefined;
    const def: SchemaNode['def'] = node.def;
    if (def.type === 'object') {
      if (i === path.length) return def.shape;
      node = def.shape?.[path[i] as string];
      i++;
    } else if (def.type === 'array') {
      // detection.policies[0].rules…: past a list, its element's keys.
      if (i === path.length) return undefined;
      node = def.element;
      i++;
    } else if (def.type === 'pipe') node = def.in?.def.type === 'transform' ? def.out : def.in;
    else if (def.innerType !== undefined) node = def.innerType;
    else return undefined;
  }
}

function suggestKey(path: readonly string[], key: string): string | undefined {
  const known = Object.keys(objectAt(path) ?? {});
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const candidate of known) {
    const a = candidate.toLowerCase();
    const b = key.toLowerCase();
    // Same letters, or one a prefix of the other (nonOwner → nonOwnerBurst), or a typo or two.
    const distance =
      a === b ? 0 : b.length >= 4 && (a.startsWith(b) || b.startsWith(a)) ? 1 : editDistance(a, b);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(
        (previous[j] as number) + 1,
        (current[j - 1] as number) + 1,
        (previous[j - 1] as number) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] as number;
}

// ---- helpers -----------------------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
