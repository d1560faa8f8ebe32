import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** The process works: the consumer has not crashed for good. */
  live(): boolean;
  /** Partitions are assigned and the first fetch has been processed. */
  ready(): boolean;
  /** A few facts for people reading /readyz. */
  describe(): Record<string, unknown>;
}

/** /healthz, /readyz and /metrics (Prometheus text format) on one port. */
export async function startHttp(
  host: string,
  port: number,
  health: HealthSource,
  registry: Registry,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (path === '/healthz') {
      const ok = health.live();
      reply(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ok' : 'failed' }));
    } else if (path === '/readyz') {
      const ok = health.ready();
      reply(ok ? 200 : 503, JSON.stringify({ status: ok ? 'ready' : 'not ready', ...health.describe() }));
    } else if (path === '/metrics') {
      // `?name[]=a&name[]=b`: those metrics alone (as Prometheus's federation endpoint selects), for a poller
      // that needs a counter or two many times a second; unknown names are left out.
      const names = new URL(req.url ?? '/', 'http://localhost').searchParams.getAll('name[]');
      const page =
        names.length === 0
          ? registry.metrics()
          : Promise.all(
              names
                .filter((name) => registry.getSingleMetric(name) !== undefined)
                .map((name) => registry.getSingleMetricAsString(name)),
            ).then((parts) => parts.map((part) => `${part}\n`).join(''));
      page.then(
        (text) => reply(200, text, registry.contentType),
        (error: Error) => reply(500, JSON.stringify({ error: error.message })),
      );
    } else {
      reply(404, JSON.stringify({ error: 'not found', paths: ['/healthz', '/readyz', '/metrics'] }));
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/**
 * Where the server listens, for the log: the port it bound (http.port 0 lets the system choose one) and
 * the URL of /metrics (a wildcard host is reachable as localhost from the same machine).
 */
export function listeningAt(server: Server, host: string): { port: number; metrics: string } {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const wildcard = host === '' || host === '0.0.0.0' || host === '::';
  const name = wildcard ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  return { port, metrics: `http://${name}:${port}/metrics` };
}
