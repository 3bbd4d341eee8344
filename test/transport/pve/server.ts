/**
 * A tiny real-HTTPS PVE stand-in for client tests: hand-written routes, every
 * request recorded (method, path, query, form, headers) for assertions and
 * for the schema check.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import selfsigned from 'selfsigned';
import { paramsFrom } from '../../helpers/pve-schema.js';

export interface Recorded {
  readonly method: string;
  /** Path below /api2/json, still URL-encoded as sent. */
  readonly path: string;
  readonly query: Record<string, string | string[]>;
  readonly form: Record<string, string | string[]>;
  readonly headers: IncomingHttpHeaders;
}

export interface Reply {
  readonly status?: number;
  readonly statusText?: string;
  /** JSON body; default `{ data: null }`. */
  readonly body?: unknown;
  /** Never answer (for timeouts). */
  readonly hang?: boolean;
}
export type Handler = (req: Recorded, n: number) => Reply | Promise<Reply>;

export interface Cert {
  readonly key: string;
  readonly cert: string;
  readonly fingerprint: string;
}

let certPromise: Promise<Cert> | undefined;
/** One self-signed cert (also usable as its own CA) for 127.0.0.1, made once per test file. */
export function testCert(): Promise<Cert> {
  certPromise ??= selfsigned
    .generate([{ name: 'commonName', value: 'pve-test' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
      ],
    })
    .then((p) => ({ key: p.private, cert: p.cert, fingerprint: new X509Certificate(p.cert).fingerprint256 }));
  return certPromise;
}

export class TestServer {
  readonly requests: Recorded[] = [];
  /** TCP connections accepted (a TLS handshake starts on each). */
  connections = 0;
  private readonly routes = new Map<string, Handler>();
  private readonly hits = new Map<string, number>();

  private constructor(private readonly server: Server, readonly cert: Cert) {}

  static async start(): Promise<TestServer> {
    const cert = await testCert();
    const server = createServer({ key: cert.key, cert: cert.cert });
    const ts = new TestServer(server, cert);
    server.on('connection', () => ts.connections++);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const url = new URL(req.url ?? '/', 'https://x');
          const path = url.pathname.replace(/^\/api2\/json/, '');
          const rec: Recorded = {
            method: req.method ?? 'GET',
            path,
            query: paramsFrom(url.searchParams),
            form: paramsFrom(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))),
            headers: req.headers,
          };
          ts.requests.push(rec);
          const key = `${rec.method} ${decodeURIComponent(path)}`;
          const handler = ts.routes.get(key);
          const n = (ts.hits.get(key) ?? 0) + 1;
          ts.hits.set(key, n);
          const reply: Reply = handler
            ? await handler(rec, n)
            : { status: 501, statusText: `Method '${key}' not implemented`, body: { data: null } };
          if (reply.hang) return;
          res.statusCode = reply.status ?? 200;
          if (reply.statusText) res.statusMessage = reply.statusText;
          res.setHeader('content-type', 'application/json;charset=UTF-8');
          res.end(JSON.stringify(reply.body ?? { data: null }));
        })();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return ts;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** `route('GET', '/version', …)`; the path is matched decoded. */
  route(method: string, path: string, handler: Handler | Reply): this {
    this.routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler);
    return this;
  }

  requestsTo(method: string, path: string): Recorded[] {
    return this.requests.filter((r) => r.method === method && decodeURIComponent(r.path) === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

export const data = (d: unknown, extra: Record<string, unknown> = {}): Reply => ({ body: { data: d, ...extra } });

import { PveClient } from '../../../src/transport/pve/client.js';
import type { PveClientOptions } from '../../../src/transport/pve/types.js';

export const TOKEN = { id: 'svc@pve!deploy', secret: '8a1c9e2f-3b4d-4e5f-9a8b-7c6d5e4f3a2b' };
export const UPID_CFG = 'UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:svc@pve!deploy:';

/** A client pinned to the test server's certificate, token auth, instant sleeps (recorded). */
export function clientFor(server: TestServer, over: Partial<PveClientOptions> = {}): { client: PveClient; sleeps: number[] } {
  const sleeps: number[] = [];
  const client = new PveClient({
    baseUrl: server.url,
    tls: { fingerprint: server.cert.fingerprint },
    auth: { token: TOKEN },
    timeoutMs: 5000,
    cluster: 'lab',
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...over,
  });
  return { client, sleeps };
}
