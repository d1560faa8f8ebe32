import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { loadAssets } from '../../src/dashboard/assets.js';
import { DashboardServer, isLoopback, type DashboardServerOptions } from '../../src/dashboard/server.js';
import { ErrorCodes, RadarError } from '../../src/errors.js';

const assets = loadAssets();

async function started(t: TestContext, options: Partial<DashboardServerOptions> = {}) {
  const server = new DashboardServer({
    host: '127.0.0.1',
    port: 0,
    assets,
    snapshot: () => ({ alerts: [], hello: 'page' }),
    ...options,
  });
  const url = await server.listen();
  t.after(() => server.close());
  return { server, url };
}

/** A GET with the headers given (Host included, which fetch would not let a test choose). */
function get(
  url: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Reads server-sent events from /events until `count` have come. */
async function events(url: string, count: number, init: RequestInit = {}) {
  const controller = new AbortController();
  const response = await fetch(new URL('events', url), { ...init, signal: controller.signal });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const got: { event: string; data: unknown }[] = [];
  let buffer = '';
  const next = async (): Promise<{ event: string; data: unknown }> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event !== undefined && data !== undefined) return { event, data: JSON.parse(data) as unknown };
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended');
      buffer += value;
    }
  };
  return {
    async take(n = count) {
      while (got.length < n) got.push(await next());
      return got;
    },
    close: () => controller.abort(),
  };
}

describe('DashboardServer', () => {
  it('serves the page and its files, with a policy that lets it run only its own', async (t) => {
    const { url } = await started(t);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(url);
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'self'/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['referrer-policy'], 'no-referrer');
    for (const path of [
      'dashboard.js',
      'dashboard.css',
      'vendor/uPlot.iife.min.js',
      'vendor/uPlot.min.css',
    ]) {
      assert.ok(page.body.includes(`/${path}`), `the page loads /${path}`);
      const file = await get(new URL(path, url).href);
      assert.equal(file.status, 200, path);
      assert.ok(file.body.length > 100, path);
    }
    assert.equal((await get(new URL('nothing-here', url).href)).status, 404);
    assert.equal((await get(url, {}, 'POST')).status, 405);
  });

  it('the page loads nothing from elsewhere, and its script never writes markup', () => {
    const page = readFileSync(new URL('../../web/dashboard/index.html', import.meta.url), 'utf8');
    assert.deepEqual(page.match(/(?:src|href)="(?!\/)[^"]*"/g), null, 'every src and href is a path here');
    assert.doesNotMatch(page, /https?:\/\//);
    const script = readFileSync(new URL('../../web/dashboard/dashboard.js', import.meta.url), 'utf8');
    assert.doesNotMatch(script, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function/);
    assert.doesNotMatch(script, /location|history\.(push|replace)State/, 'nothing goes into the URL');
  });

  it('/events starts with the snapshot, then carries what is broadcast', async (t) => {
    const { server, url } = await started(t);
    const stream = await events(url, 1);
    t.after(() => stream.close());
    assert.deepEqual(await stream.take(1), [{ event: 'snapshot', data: { alerts: [], hello: 'page' } }]);
    server.broadcast('alert', { entry: { alert_id: 'x', note: 'line\nbreak </script>' }, evicted: [] });
    const [, alert] = await stream.take(2);
    assert.deepEqual(alert, {
      event: 'alert',
      data: { entry: { alert_id: 'x', note: 'line\nbreak </script>' }, evicted: [] },
    });
  });

  it('on loopback, answers only requests that name a loopback host (no DNS rebinding)', async (t) => {
    const { url } = await started(t);
    const port = new URL(url).port;
    assert.equal((await get(url, { host: `localhost:${port}` })).status, 200);
    assert.equal((await get(url, { host: `127.0.0.1:${port}` })).status, 200);
    const rebound = await get(url, { host: `attacker.example:${port}` });
    assert.equal(rebound.status, 403);
    assert.equal((await get(new URL('events', url).href, { host: 'attacker.example' })).status, 403);
  });

  it('basic auth, when configured, guards every path', async (t) => {
    const { url } = await started(t, { auth: { username: 'soc', password: 'pa:ss wörd' } });
    const basic = (user: string, password: string) =>
      `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    const none = await get(url);
    assert.equal(none.status, 401);
    assert.match(String(none.headers['www-authenticate']), /^Basic realm="mailbox-radar"/);
    assert.equal((await get(url, { authorization: basic('soc', 'wrong') })).status, 401);
    assert.equal((await get(url, { authorization: basic('other', 'pa:ss wörd') })).status, 401);
    assert.equal((await get(new URL('events', url).href)).status, 401);
    assert.equal((await get(url, { authorization: basic('soc', 'pa:ss wörd') })).status, 200);
    const stream = await events(url, 1, { headers: { authorization: basic('soc', 'pa:ss wörd') } });
    t.after(() => stream.close());
    assert.equal((await stream.take(1))[0]?.event, 'snapshot');
  });

  it('a port in use is HTTP_LISTEN_FAILED naming the setting', async (t) => {
    const { url } = await started(t);
    const second = new DashboardServer({
      host: '127.0.0.1',
      port: Number(new URL(url).port),
      assets,
      snapshot: () => ({}),
    });
    await assert.rejects(second.listen(), (error: unknown) => {
      assert.ok(error instanceof RadarError);
      assert.equal(error.code, ErrorCodes.HTTP_LISTEN_FAILED);
      assert.match(error.message, /EADDRINUSE/);
      assert.match(error.message, /dashboard\.port/);
      return true;
    });
  });

  it('isLoopback', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1'])
      assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '10.0.0.1', '::', 'example.com', '127.0.0.1.example.com'])
      assert.equal(isLoopback(host), false, host);
  });
});
