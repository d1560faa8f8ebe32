/**
 * Where integration tests find Kafka and the schema registry — one stack per run, never a second one:
 *   1. KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set (`make test` sets them to the stack it chose, see
 *      scripts/with-stack.sh); when they are the local JVM stack's addresses, it is that stack;
 *   2. else the local JVM stack of scripts/stack.sh when it answers (its env file, or default addresses);
 *   3. else testcontainers, where a Docker engine answers (docker-compose.yml's kafka + schema-registry).
 * Under CI=true a test that finds no stack fails; elsewhere it is skipped with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { waitForLeaders } from '../../src/kafka/topics.js';

export interface Stack {
  brokers: string[];
  registryUrl: string;
  source: 'env' | 'testcontainers' | 'local';
  /** The scripts/stack.sh directory (pids, logs, certificates) of a local stack. */
  dir?: string | undefined;
  /** A SASL listener with a user for PLAIN and SCRAM-SHA-256/512, where the stack has one. */
  sasl?: { brokers: string[]; username: string; password: string } | undefined;
  /**
   * TLS listeners, where the stack has them: server-authenticated TLS, mutual TLS (client certificate
   * required) and SASL_SSL (the SASL user above); PEM files of the CA and of a client certificate it signed.
   */
  tls?:
    | {
        brokers: string[];
        mtlsBrokers: string[];
        saslSslBrokers: string[];
        ca: string;
        /** A CA that signed nothing on the stack: what a client configured with the wrong CA trusts. */
        otherCa: string;
        cert: string;
        key: string;
        /** The registry's Confluent API over HTTPS, where it serves it. */
        registryUrl?: string | undefined;
      }
    | undefined;
}

/** Which stack a run uses, from what answers: the pure part of locate(). */
export function chooseStack(seen: {
  envSet: boolean;
  localAnswers: boolean;
  dockerAnswers: boolean;
}): 'env' | 'local' | 'testcontainers' | 'none' {
  if (seen.envSet) return 'env';
  // Something already answers on the local addresses: use it; starting containers there could not bind.
  if (seen.localAnswers) return 'local';
  return seen.dockerAnswers ? 'testcontainers' : 'none';
}

const ROOT = new URL('../../', import.meta.url).pathname;
let found: Promise<Stack | string> | undefined;

export function findStack(): Promise<Stack | string> {
  found ??= locate();
  return found;
}

/** The stack, or (outside CI) a skip of the test; under CI=true, no stack is a failure. */
export async function requireStack(t: TestContext): Promise<Stack | undefined> {
  const stack = await findStack();
  if (typeof stack !== 'string') return stack;
  return skipOrFail(t, `integration test needs Kafka and a schema registry: ${stack}`);
}

/**
 * The one way a test may stop early: under CI=true it throws (the test fails, it cannot read as a pass);
 * elsewhere it skips the test with the reason. Use as `return skipOrFail(t, reason)`.
 * test/meta/early-return.test.ts holds every test to this.
 */
export function skipOrFail(t: TestContext, reason: string): undefined {
  if (process.env.CI === 'true') throw new Error(reason);
  t.skip(reason);
  return undefined;
}

async function locate(): Promise<Stack | string> {
  const dir = process.env.RADAR_STACK_DIR ?? `${ROOT}.stack`;
  const local = stackFrom(readEnvFile(`${dir}/env`), 'local', dir);
  const fromEnv = process.env.KAFKA_BROKERS && process.env.SCHEMA_REGISTRY_URL ? process.env : undefined;
  const envSet = fromEnv !== undefined;
  const localAnswers = !envSet && (await reachable(local));
  const docker = !envSet && !localAnswers && (await dockerAnswers());
  switch (chooseStack({ envSet, localAnswers, dockerAnswers: docker })) {
    case 'env': {
      const isLocal =
        fromEnv!.KAFKA_BROKERS === local.brokers.join(',') &&
        fromEnv!.SCHEMA_REGISTRY_URL === local.registryUrl;
      const stack = isLocal ? local : stackFrom(fromEnv!, 'env');
      return (await reachable(stack))
        ? stack
        : `KAFKA_BROKERS=${fromEnv!.KAFKA_BROKERS} / SCHEMA_REGISTRY_URL=${fromEnv!.SCHEMA_REGISTRY_URL} do not answer`;
    }
    case 'local':
      return local;
    case 'testcontainers':
      return startContainers();
    case 'none':
      return `no Docker engine, and the local stack does not answer on ${local.brokers.join(',')} / ${local.registryUrl} (run \`make stack-up\`)`;
  }
}

function readEnvFile(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) values[line.slice(0, at)] = line.slice(at + 1).trim();
    }
  }
  return values;
}

/** A stack from scripts/stack.sh's variables (its env file, or the same names in the environment). */
function stackFrom(values: Record<string, string | undefined>, source: Stack['source'], dir?: string): Stack {
  const list = (value: string) => value.split(',');
  const v = values;
  return {
    brokers: list(v.KAFKA_BROKERS ?? '127.0.0.1:9092'),
    registryUrl: v.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    source,
    dir,
    sasl:
      v.KAFKA_SASL_BROKERS && v.KAFKA_SASL_USER && v.KAFKA_SASL_PASSWORD
        ? {
            brokers: list(v.KAFKA_SASL_BROKERS),
            username: v.KAFKA_SASL_USER,
            password: v.KAFKA_SASL_PASSWORD,
          }
        : undefined,
    tls:
      v.KAFKA_SSL_BROKERS &&
      v.KAFKA_MTLS_BROKERS &&
      v.KAFKA_SASL_SSL_BROKERS &&
      v.KAFKA_SSL_CA &&
      v.KAFKA_SSL_OTHER_CA &&
      v.KAFKA_SSL_CLIENT_CERT &&
      v.KAFKA_SSL_CLIENT_KEY
        ? {
            brokers: list(v.KAFKA_SSL_BROKERS),
            mtlsBrokers: list(v.KAFKA_MTLS_BROKERS),
            saslSslBrokers: list(v.KAFKA_SASL_SSL_BROKERS),
            ca: v.KAFKA_SSL_CA,
            otherCa: v.KAFKA_SSL_OTHER_CA,
            cert: v.KAFKA_SSL_CLIENT_CERT,
            key: v.KAFKA_SSL_CLIENT_KEY,
            registryUrl: v.SCHEMA_REGISTRY_HTTPS_URL,
          }
        : undefined,
  };
}

async function reachable(stack: Stack): Promise<boolean> {
  const [host, port] = splitHostPort(stack.brokers[0] ?? '');
  if (!(await tcpAnswers(host, port))) return false;
  try {
    const response = await fetch(`${stack.registryUrl.replace(/\/+$/, '')}/subjects`, {
      signal: AbortSignal.timeout(5_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

async function dockerAnswers(): Promise<boolean> {
  if (process.env.RADAR_TEST_NO_DOCKER === '1') return false;
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([
      getContainerRuntimeClient(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('timeout')), 5_000)),
    ]);
    return true;
  } catch {
    return false;
  }
}

async function startContainers(): Promise<Stack | string> {
  try {
    const { DockerComposeEnvironment, Wait } = await import('testcontainers');
    const environment = await new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
      .withWaitStrategy('kafka-1', Wait.forHealthCheck())
      .withWaitStrategy('schema-registry-1', Wait.forHealthCheck())
      .up(['kafka', 'schema-registry']);
    process.once('exit', () => void environment.down());
    return { brokers: ['127.0.0.1:9092'], registryUrl: 'http://127.0.0.1:8081', source: 'testcontainers' };
  } catch (error) {
    return `Docker answers but the compose stack did not start: ${(error as Error).message}`;
  }
}

/** A unique name for a test's topic or group. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
}

export function kafkaFor(stack: Stack, clientId = uniqueName('test')): Kafka {
  return new Kafka({ brokers: stack.brokers, clientId, logLevel: logLevel.NOTHING });
}

/** Creates topics for one test and returns a function that deletes them and closes the admin. */
export async function createTopics(
  stack: Stack,
  topics: string[],
  numPartitions = 1,
): Promise<{ admin: Admin; cleanup: () => Promise<void> }> {
  const admin = kafkaFor(stack).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map((topic) => ({ topic, numPartitions })),
      waitForLeaders: false,
    });
    await waitForLeaders(admin, topics); // kafkajs's wait gives up on a broker slow to learn of them
  } catch (error) {
    // A connected admin would keep the test file's process alive until its timeout.
    await admin.disconnect();
    throw error;
  }
  return {
    admin,
    cleanup: async () => {
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
