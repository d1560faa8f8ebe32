/**
 * A reverse proxy in front of the real schema registry, as a deployment has one: an auth gateway that
 * demands credentials or refuses, or a follower that has not caught up and answers 404 for a new id.
 * Each test sets `intercept` to answer a request itself; everything else is forwarded, so every success
 * comes from the real registry. `requests` logs what reached the proxy ("GET /schemas/ids/7").
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Interception {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

export interface RegistryProxy {
  /** The proxy's URL, with the real registry's path (e.g. http://127.0.0.1:PORT/apis/ccompat/v7). */
  readonly url: string;
  /** Paths relative to the registry's base, in arrival order. */
  readonly requests: string[];
  /** Answers a request instead of the registry when it returns something; `path` is relative to the base. */
  intercept: ((request: IncomingMessage, path: string) => Interception | undefined) | undefined;
  close(): Promise<void>;
}

export async function startRegistryProxy(registryUrl: string): Promise<RegistryProxy> {
  const target = new URL(registryUrl.replace(/\/+$/, ''));
  const basePath = target.pathname === '/' ? '' : target.pathname;
  const proxy: RegistryProxy = {
    url: '',
    requests: [],
    intercept: undefined,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    const full = req.url ?? '/';
    const path = full.startsWith(basePath) ? full.slice(basePath.length) : full;
    proxy.requests.push(`${req.method} ${path}`);
    const answer = proxy.intercept?.(req, path);
    if (answer !== undefined) {
      req.resume();
      res.writeHead(answer.status, { 'Content-Type': 'application/json', ...answer.headers });
      res.end(answer.body ?? JSON.stringify({ error_code: answer.status * 100, message: 'from the proxy' }));
      return;
    }
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: full,
        headers: { ...req.headers, host: target.host },
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on('error', (error) => {
      res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.end(`proxy: ${error.message}`);
    });
    req.pipe(upstream);
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  (proxy as { url: string }).url = `http://127.0.0.1:${port}${basePath}`;
  return proxy;
}

/** An interception that demands HTTP basic auth with these credentials (401 otherwise). */
export function requireBasicAuth(
  username: string,
  password: string,
): (request: IncomingMessage) => Interception | undefined {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  return (request) =>
    request.headers.authorization === expected
      ? undefined
      : {
          status: 401,
          headers: { 'WWW-Authenticate': 'Basic realm="registry"' },
          body: JSON.stringify({ error_code: 40101, message: 'Unauthorized' }),
        };
}
