/**
 * The dashboard's HTTP server: the page and its files, and `/events`, a server-sent event stream that
 * starts with the whole state (`snapshot`) and then carries each change. Nothing about an alert ever goes
 * in a URL: the page asks for fixed paths only and filters in the browser.
 *
 * Safe by default: on loopback a request must name a loopback host (a page elsewhere cannot reach it
 * through DNS rebinding); basic auth when configured (compared in constant time); a Content-Security-Policy
 * that lets the page run only its own files.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { ErrorCodes, RadarError } from '../errors.js';
import type { Asset } from './assets.js';

export interface DashboardServerOptions {
  host: string;
  port: number;
  auth?: { username: string; password: string } | undefined;
  assets: ReadonlyMap<string, Asset>;
  /** The state a page starts from, sent first on every event stream (and again after a reconnect). */
  snapshot(): unknown;
}

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-store',
};

/** A stream that falls this far behind (a stalled tab) is dropped; its page reconnects to a snapshot. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const KEEP_ALIVE_MS = 15_000;

export class DashboardServer {
  private readonly server: Server;
  private readonly streams = new Set<ServerResponse>();
  private readonly credentials: { username: Buffer; password: Buffer } | undefined;
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(private readonly options: DashboardServerOptions) {
    this.credentials =
      options.auth === undefined
        ? undefined
        : { username: digest(options.auth.username), password: digest(options.auth.password) };
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** Listens; resolves to the page's URL. */
  async listen(): Promise<string> {
    const { host, port } = this.options;
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          new RadarError(
            ErrorCodes.HTTP_LISTEN_FAILED,
            `cannot listen on ${host}:${port} (dashboard.host, dashboard.port, --host, --port): ${error.code ?? error.message}`,
            { cause: error },
          ),
        ),
      );
      this.server.listen(port, host, () => resolve());
    });
    this.keepAlive = setInterval(() => {
      for (const res of this.streams) res.write(': keep-alive\n\n');
    }, KEEP_ALIVE_MS);
    const address = this.server.address();
    const bound = typeof address === 'object' && address !== null ? address.port : port;
    const name = host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
    return `http://${name}:${bound}/`;
  }

  /** Sends an event to every open page. */
  broadcast(event: string, data: unknown): void {
    const text = frame(event, data);
    for (const res of this.streams) this.write(res, text);
  }

  async close(): Promise<void> {
    clearInterval(this.keepAlive);
    for (const res of this.streams) res.end();
    this.streams.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (!this.hostAllowed(req.headers.host)) {
      return reply(res, 403, 'this dashboard answers to its loopback address only\n');
    }
    if (this.credentials !== undefined && !this.authorized(req.headers.authorization)) {
      res.setHeader('www-authenticate', 'Basic realm="mailbox-radar", charset="UTF-8"');
      return reply(res, 401, 'authentication required\n');
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/events') return this.stream(req, res);
    const asset = this.options.assets.get(path);
    if (asset === undefined) return reply(res, 404, 'not found\n');
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': asset.type,
      'content-length': asset.body.length,
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // a reverse proxy in front must not hold the events back
    });
    if (req.method === 'HEAD') return void res.end();
    res.write('retry: 2000\n\n');
    this.streams.add(res);
    res.on('close', () => this.streams.delete(res));
    this.write(res, frame('snapshot', this.options.snapshot()));
  }

  private write(res: ServerResponse, text: string): void {
    res.write(text);
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      this.streams.delete(res);
      res.destroy();
    }
  }

  private hostAllowed(header: string | undefined): boolean {
    if (!isLoopback(this.options.host)) return true;
    if (header === undefined) return false;
    try {
      return isLoopback(new URL(`http://${header}`).hostname.replace(/^\[|\]$/g, ''));
    } catch {
      return false;
    }
  }

  private authorized(header: string | undefined): boolean {
    const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (!match) return false;
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = timingSafeEqual(digest(decoded.slice(0, colon)), this.credentials!.username);
    const password = timingSafeEqual(digest(decoded.slice(colon + 1)), this.credentials!.password);
    return user && password;
  }
}

/** One server-sent event; JSON has no raw line breaks, so `data` is one line. */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function reply(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** 127.0.0.0/8, ::1 and localhost. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
