/** Helpers for the tooling tests: run the CLI as a user would, run records through the detection core. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createReadStream } from 'node:fs';
import type avro from 'avsc';
import type { KafkaMessage } from 'kafkajs';
import { from, lastValueFrom, toArray } from 'rxjs';
import { parseConfig } from '../../src/config/load.js';
import { detect } from '../../src/detect/detect.js';
import type { DetectionConfig } from '../../src/detect/types.js';
import type { ExchangeMailboxActivity } from '../../src/model/activity.js';
import type { MailboxAccessAlert } from '../../src/model/alert.js';
import { AvroCodec } from '../../src/kafka/avro-codec.js';
import { tenantDetectionSettings } from '../../src/simulate/tenant.js';
import { RegistryClient } from '../../src/kafka/registry.js';
import { kafkaFor, uniqueName, type Stack } from '../support/stack.js';

export const ROOT = new URL('../../', import.meta.url).pathname;

/**
 * The default detection configuration with the simulated tenant's settings: its organization (contoso.com +
 * contoso.co.uk), its backup app allow-listed (any case), first_access off for its helpdesk.
 */
export function tenantDetection(): DetectionConfig {
  const settings = tenantDetectionSettings();
  return parseConfig({
    detection: { ...settings, allowlist: { apps: settings.allowlist.apps.map((app) => app.toUpperCase()) } },
  }).detection;
}

/** The alerts the pure core raises over these records, in order. */
export async function alertsOf(
  records: Iterable<ExchangeMailboxActivity>,
  config: DetectionConfig = tenantDetection(),
): Promise<MailboxAccessAlert[]> {
  const inputs = [...records].map((record) => ({ kind: 'record' as const, record }));
  const outputs = await lastValueFrom(from(inputs).pipe(detect(config), toArray()));
  return outputs.flatMap((o) => (o.kind === 'alert' ? [o.alert] : []));
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Resolves once stderr (or stdout) has printed `text`; rejects after `timeoutMs` or at exit without it. */
  stderrIncludes(text: string, timeoutMs?: number): Promise<void>;
  stdoutIncludes(text: string, timeoutMs?: number): Promise<void>;
  result: Promise<CliResult>;
}

/** Starts `mailbox-radar <args>` through tsx with only PATH and `env` in its environment. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string>; stdinFile?: string } = {},
): CliRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, ...options.env },
  });
  const text = { stdout: '', stderr: '' };
  let waiters: { stream: 'stdout' | 'stderr'; text: string; resolve: () => void }[] = [];
  const check = (): void => {
    waiters = waiters.filter((w) => (text[w.stream].includes(w.text) ? (w.resolve(), false) : true));
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => ((text.stdout += chunk), check()));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => ((text.stderr += chunk), check()));
  if (options.stdinFile !== undefined) createReadStream(options.stdinFile).pipe(child.stdin);
  else child.stdin.end();
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout: text.stdout, stderr: text.stderr }));
  });
  const includes =
    (stream: 'stdout' | 'stderr') =>
    (wanted: string, timeoutMs = 60_000) =>
      new Promise<void>((resolve, reject) => {
        if (text[stream].includes(wanted)) return resolve();
        const timer = setTimeout(
          () => reject(new Error(`no "${wanted}" on ${stream} within ${timeoutMs}ms:\n${text.stderr}`)),
          timeoutMs,
        );
        waiters.push({ stream, text: wanted, resolve: () => (clearTimeout(timer), resolve()) });
        void result.then(() => {
          clearTimeout(timer);
          if (text[stream].includes(wanted)) resolve();
          else reject(new Error(`exited without "${wanted}" on ${stream}:\n${text.stderr}`));
        });
      });
  return { child, result, stderrIncludes: includes('stderr'), stdoutIncludes: includes('stdout') };
}

/** Runs `mailbox-radar <args>` to the end. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; stdinFile?: string } = {},
): Promise<CliResult> {
  return startCli(args, options).result;
}

/** Environment that points the CLI at a test stack (and nothing else from this process's environment). */
export function stackEnv(stack: Stack, extra: Record<string, string> = {}): Record<string, string> {
  return { KAFKA_BROKERS: stack.brokers.join(','), SCHEMA_REGISTRY_URL: stack.registryUrl, ...extra };
}

/** Reads `count` messages from the start of a topic (fails after `timeoutMs` with what it got). */
export async function consumeMessages(
  stack: Stack,
  topic: string,
  count: number,
  timeoutMs = 60_000,
): Promise<KafkaMessage[]> {
  const consumer = kafkaFor(stack).consumer({ groupId: uniqueName('g') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const messages: KafkaMessage[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`got ${messages.length} of ${count} messages from ${topic}`)),
        timeoutMs,
      );
      void consumer.run({
        eachBatch: async ({ batch }) => {
          messages.push(...batch.messages);
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    // Anything beyond `count` would be a surprise: give it a moment to show up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    return messages;
  } finally {
    await consumer.disconnect();
  }
}

/** Decodes Confluent-framed Avro values through the registry with our reader type. */
export async function decodeAll<T>(stack: Stack, reader: avro.Type, values: (Buffer | null)[]): Promise<T[]> {
  const codec = new AvroCodec<T>(new RegistryClient({ url: stack.registryUrl }), reader);
  await codec.prepare(values);
  return values.map((v) => codec.decode(v));
}

/** Deletes registry subjects a test registered (soft, then hard: Confluent's two steps; Apicurio takes the first). */
export async function deleteSubjects(stack: Stack, subjects: string[]): Promise<void> {
  const base = stack.registryUrl.replace(/\/+$/, '');
  for (const subject of subjects) {
    await fetch(`${base}/subjects/${encodeURIComponent(subject)}`, { method: 'DELETE' }).catch(
      () => undefined,
    );
    await fetch(`${base}/subjects/${encodeURIComponent(subject)}?permanent=true`, { method: 'DELETE' }).catch(
      () => undefined,
    );
  }
}
