/**
 * Where integration tests find Kafka and the schema registry:
 *   1. KAFKA_BROKERS / SCHEMA_REGISTRY_URL when set;
 *   2. else testcontainers, where a Docker engine answers (docker-compose.yml's kafka + schema-registry);
 *   3. else the local JVM stack of scripts/stack.sh (its .stack/env, or its default addresses).
 * Under CI=true a test that finds no stack fails; elsewhere it is skipped with the reason.
 */
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Kafka, logLevel, type Admin } from 'kafkajs';

export interface Stack {
  brokers: string[];
  registryUrl: string;
  source: 'env' | 'testcontainers' | 'local';
  /** A SASL listener with a user for PLAIN and SCRAM-SHA-256/512, where the stack has one. */
  sasl?: { brokers: string[]; username: string; password: string } | undefined;
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
  const envBrokers = process.env.KAFKA_BROKERS;
  const envRegistry = process.env.SCHEMA_REGISTRY_URL;
  if (envBrokers && envRegistry) {
    const stack: Stack = { brokers: envBrokers.split(','), registryUrl: envRegistry, source: 'env' };
    return (await reachable(stack))
      ? stack
      : `KAFKA_BROKERS=${envBrokers} / SCHEMA_REGISTRY_URL=${envRegistry} do not answer`;
  }
  if (await dockerAnswers()) return startContainers();
  const local = localStackEnv();
  const stack: Stack = {
    brokers: local.brokers,
    registryUrl: local.registryUrl,
    source: 'local',
    sasl: local.sasl,
  };
  if (await reachable(stack)) return stack;
  return `no Docker engine, and the local stack does not answer on ${local.brokers.join(',')} / ${local.registryUrl} (run \`make stack-up\`)`;
}

function localStackEnv(): { brokers: string[]; registryUrl: string; sasl: Stack['sasl'] } {
  // scripts/stack.sh writes the addresses of the stack it started into its directory's env file.
  const file = `${process.env.RADAR_STACK_DIR ?? `${ROOT}.stack`}/env`;
  const values: Record<string, string> = {};
  if (existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const at = line.indexOf('=');
      if (at > 0) values[line.slice(0, at)] = line.slice(at + 1).trim();
    }
  }
  const sasl =
    values.KAFKA_SASL_BROKERS && values.KAFKA_SASL_USER && values.KAFKA_SASL_PASSWORD
      ? {
          brokers: values.KAFKA_SASL_BROKERS.split(','),
          username: values.KAFKA_SASL_USER,
          password: values.KAFKA_SASL_PASSWORD,
        }
      : undefined;
  return {
    brokers: (values.KAFKA_BROKERS ?? '127.0.0.1:9092').split(','),
    registryUrl: values.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7',
    sasl,
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
  await admin.createTopics({
    topics: topics.map((topic) => ({ topic, numPartitions })),
    waitForLeaders: true,
  });
  return {
    admin,
    cleanup: async () => {
      await admin.deleteTopics({ topics }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}
