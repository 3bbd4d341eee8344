/**
 * The keep-alive Agent for one cluster. A pinned fingerprint is checked in the
 * Agent's connect step, right after the handshake and before any byte of a
 * request is written; on mismatch the socket is destroyed.
 */
import type { TLSSocket } from 'node:tls';
import { Agent, buildConnector } from 'undici';
import { ApiError } from '../../errors.js';
import type { PveTls } from './types.js';
import { ErrorCode } from '../../error-codes.js';

/** `AA:BB:…` uppercase, as `pvenode cert info` and Node's fingerprint256 print it. */
export function normaliseFingerprint(fp: string): string {
  return fp.trim().toUpperCase();
}

export class TlsPinError extends ApiError {
  constructor(readonly expected: string, readonly actual: string, host: string, cluster?: string) {
    super(
      ErrorCode.TLS_PIN,
      `TLS certificate of ${host} does not match the pinned fingerprint: expected ${expected}, got ${actual}`,
      null,
      {},
      { ...(cluster ? { cluster } : {}), fix: 'if the certificate was renewed on purpose, pin the new fingerprint from `pvenode cert info`' },
    );
  }
}

export function pinnedConnector(expected: string, timeoutMs: number, cluster?: string): buildConnector.connector {
  // No session resumption: every connection shows its certificate.
  const base = buildConnector({ rejectUnauthorized: false, timeout: timeoutMs, maxCachedSessions: 0 });
  const want = normaliseFingerprint(expected);
  return (opts, callback) => {
    base(opts, (err, socket) => {
      if (err || !socket) {
        callback(err ?? new Error('connect failed'), null);
        return;
      }
      const cert = (socket as TLSSocket).getPeerCertificate?.();
      const actual = cert?.fingerprint256 ? normaliseFingerprint(cert.fingerprint256) : '(no certificate)';
      if (actual !== want) {
        socket.destroy();
        callback(new TlsPinError(want, actual, `${opts.hostname}:${opts.port}`, cluster), null);
        return;
      }
      callback(null, socket);
    });
  };
}

export function makeAgent(tls: PveTls, timeoutMs: number, cluster?: string): Agent {
  const common = { keepAliveTimeout: 30_000, connections: 8 };
  if ('fingerprint' in tls) return new Agent({ ...common, connect: pinnedConnector(tls.fingerprint, timeoutMs, cluster) });
  if ('ca' in tls) return new Agent({ ...common, connect: { ca: tls.ca, timeout: timeoutMs } });
  return new Agent({ ...common, connect: { timeout: timeoutMs } });
}
