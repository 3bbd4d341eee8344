/**
 * A real HTTPS server on 127.0.0.1 in front of the msw handlers, with a
 * self-signed certificate made at start, so clients exercise TLS pinning,
 * undici pools and timeouts exactly as against pveproxy.
 */
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getResponse } from 'msw';
import selfsigned from 'selfsigned';
import type { SimApi } from './api.js';
import { errorBody, statusLine } from './errors.js';
import { parseBody, parseUrlEncoded } from './params.js';
import { redactParams } from './redact.js';
import type { RawParams } from './schema.js';
import type { SimRequestLogEntry } from './types.js';

export interface SimApiServerOptions {
  /** 0 (default) = ephemeral. */
  readonly port?: number;
  readonly requestLog?: (entry: SimRequestLogEntry) => void;
}

export interface SimApiServer {
  /** `https://127.0.0.1:<port>` */
  readonly url: string;
  /** SHA-256 of the certificate as `pvenode cert info` prints it: `AA:BB:…`. */
  readonly fingerprint: string;
  /** The self-signed certificate, to trust as a CA. */
  readonly caPem: string;
  close(): Promise<void>;
}

async function makeCertificate(): Promise<{ key: string; cert: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 30 * 24 * 3600 * 1000);
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'pve-sim.localdomain' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ],
  });
  return { key: pems.private, cert: pems.cert };
}

function toFetchRequest(req: IncomingMessage, body: Buffer, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) for (const item of v) headers.append(k, item);
    else if (v !== undefined) headers.set(k, v);
  }
  const method = req.method ?? 'GET';
  const url = `https://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`;
  const withBody = method !== 'GET' && method !== 'HEAD' && body.length > 0;
  return new Request(url, { method, headers, signal, ...(withBody ? { body: new Uint8Array(body) } : {}) });
}

function logParams(req: IncomingMessage, body: Buffer): RawParams {
  const url = new URL(req.url ?? '/', 'https://sim');
  const query = url.search.length > 1 ? parseUrlEncoded(url.search.slice(1)) : {};
  let fromBody: RawParams = {};
  try {
    fromBody = parseBody(req.headers['content-type'] ?? null, body.toString('utf8'));
  } catch {
    fromBody = { '<body>': '<unparsable>' };
  }
  return { ...fromBody, ...query };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function handle(api: SimApi, opts: SimApiServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readBody(req);
  const abort = new AbortController();
  res.on('close', () => {
    if (!res.writableEnded) abort.abort();
  });
  const request = toFetchRequest(req, body, abort.signal);
  let response = await getResponse(api.handlers, request);
  if (!response) {
    const message = `Method '${req.method ?? ''} ${new URL(request.url).pathname}' not implemented`;
    response = new Response(JSON.stringify(errorBody(message)), { status: 501, statusText: statusLine(message) });
  }
  if (opts.requestLog) {
    opts.requestLog({
      time: new Date().toISOString(),
      method: req.method ?? '',
      path: new URL(request.url).pathname,
      params: redactParams(logParams(req, body)),
      status: response.status,
    });
  }
  if (res.destroyed) return;
  const payload = Buffer.from(await response.arrayBuffer());
  res.statusCode = response.status;
  res.statusMessage = response.statusText;
  response.headers.forEach((value, key) => res.setHeader(key, value));
  res.setHeader('content-length', payload.length);
  res.end(payload);
}

export async function startSimApiServer(api: SimApi, opts: SimApiServerOptions = {}): Promise<SimApiServer> {
  const { key, cert } = await makeCertificate();
  const fingerprint = new X509Certificate(cert).fingerprint256.toUpperCase();
  for (const node of api.state.nodes) node.sslFingerprint ??= fingerprint;

  const server: Server = createServer({ key, cert }, (req, res) => {
    handle(api, opts, req, res).catch((err: unknown) => {
      const message = err instanceof Error ? err.message : String(err);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.statusMessage = statusLine(message);
        res.end(JSON.stringify(errorBody(message)));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    fingerprint,
    caPem: cert,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
