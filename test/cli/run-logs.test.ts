import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';

/**
 * `run`'s logs as a newcomer and a log shipper see them. The start-up failure used here needs no broker
 * and no registry: the health port is taken, so `run` fails before it connects to anything.
 */

const ROOT = new URL('../../', import.meta.url).pathname;

let busy: Server;
let port: number;
before(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  port = (busy.address() as { port: number }).port;
});
after(() => busy.close());

interface Result {
  code: number | null;
  stderr: string;
}

function run(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', ...args], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: '127.0.0.1:1',
        // Nothing listens there either: the health port is bound before the registry is asked.
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
        MAILBOX_RADAR_HTTP__HOST: '127.0.0.1',
        MAILBOX_RADAR_HTTP__PORT: String(port),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

const lines = (text: string) => text.split('\n').filter((line) => line !== '');

describe('mailbox-radar run: logs', () => {
  it('with JSON logs, a start-up failure is one JSON line with its code and message', async () => {
    const { code, stderr } = await run([], { MAILBOX_RADAR_LOG__FORMAT: 'json' });
    assert.equal(code, 1);
    const entries = lines(stderr).map((line) => JSON.parse(line) as Record<string, unknown>);
    const fatal = entries.filter((entry) => entry.level === 60);
    assert.equal(fatal.length, 1, stderr);
    assert.equal(fatal[0]?.code, 'EADDRINUSE');
    assert.match(
      String(fatal[0]?.msg),
      /^start-up failed: listen EADDRINUSE: address already in use [^\n]*$/,
    );
  });

  it('JSON when stderr is not a terminal (auto, the default)', async () => {
    const { code, stderr } = await run([]);
    assert.equal(code, 1);
    for (const line of lines(stderr)) assert.doesNotThrow(() => JSON.parse(line), line);
  });

  it('readable lines by option, the failure on one line with its code, no stack', async () => {
    const { code, stderr } = await run(['--log-format', 'pretty']);
    assert.equal(code, 1);
    const fatal = lines(stderr).filter((line) => line.includes('FATAL'));
    assert.equal(fatal.length, 1, stderr);
    assert.match(
      fatal[0] as string,
      /^\[\d\d:\d\d:\d\d\.\d{3}\] FATAL: start-up failed: listen EADDRINUSE: address already in use \S+ .*EADDRINUSE/,
    );
    for (const line of lines(stderr)) {
      assert.doesNotMatch(line, /^\s+at |^\{|"stack"/, stderr);
    }
    // The last lines are not lost on exit (pretty printing is synchronous, no worker thread).
    assert.match(lines(stderr).at(-1) as string, /INFO: stopped/);
  });

  it('says where its metrics are: the URL with the port it bound (http.port 0 lets the system choose)', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        KAFKA_BROKERS: '127.0.0.1:1', // never reached: the line comes before Kafka
        SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', // and before the registry
        MAILBOX_RADAR_HTTP__HOST: '127.0.0.1',
        MAILBOX_RADAR_HTTP__PORT: '0',
        MAILBOX_RADAR_LOG__FORMAT: 'json',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      const entry = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no listening line within 30 s:\n${stderr}`)),
          30_000,
        );
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          stderr += chunk;
          const line = lines(stderr).find((l) => l.includes('listening'));
          if (line !== undefined) {
            clearTimeout(timer);
            resolve(JSON.parse(line) as Record<string, unknown>);
          }
        });
      });
      const url = String(entry.metrics);
      const port = Number(/^http:\/\/127\.0\.0\.1:(\d+)\/metrics$/.exec(url)?.[1]);
      assert.ok(port > 0, `metrics ${url}`);
      assert.equal(entry.port, port);
      assert.ok(String(entry.msg).includes(url), String(entry.msg));
      const response = await fetch(url);
      assert.equal(response.status, 200);
      assert.match(await response.text(), /^# HELP mailbox_radar_/m);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses an unknown --log-format', async () => {
    const { code, stderr } = await run(['--log-format', 'xml']);
    assert.equal(code, 2);
    assert.match(stderr, /xml/);
  });
});
