/** HTTP answers and transport failures → ApiError with a stable code. */
import { ApiError, redact, type ErrorContext } from '../../errors.js';
import { likelyPrivilege } from './privileges.js';
import { ErrorCode } from '../../error-codes.js';

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);
const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

function firstLine(s: string): string {
  return s.split('\n')[0]?.trim() ?? '';
}

export interface HttpFailure {
  readonly status: number;
  readonly statusText: string;
  readonly body: unknown;
  readonly method: string;
  readonly path: string;
}

/** "checksum mismatch (file change by other user?)": the digest we sent is stale. */
export const DIGEST_MISMATCH = /checksum mismatch|digest mismatch|file change by other user/i;

export function httpError(f: HttpFailure, ctx: ErrorContext, secrets: readonly string[]): ApiError {
  const body = (f.body && typeof f.body === 'object' ? f.body : {}) as { message?: unknown; errors?: unknown };
  const bodyMessage = typeof body.message === 'string' ? firstLine(body.message) : '';
  const serverText = redact(bodyMessage || firstLine(f.statusText) || `HTTP ${f.status}`, secrets);
  const what = `${f.method} ${f.path}`;
  switch (f.status) {
    case 400: {
      const errors: Record<string, string> = {};
      if (body.errors && typeof body.errors === 'object') {
        for (const [k, v] of Object.entries(body.errors as Record<string, unknown>)) errors[k] = redact(firstLine(String(v)), secrets);
      }
      const list = Object.entries(errors).map(([k, v]) => `${k}: ${v}`).join('; ');
      return new ApiError(ErrorCode.API_PARAM, `${what} rejected: ${list || serverText}`, 400, errors, ctx);
    }
    case 401:
      return new ApiError(ErrorCode.API_AUTH, `${what}: authentication failed (${serverText})`, 401, {}, {
        ...ctx, fix: 'check the token id and secret, or the user and password, in the cluster\'s api section',
      });
    case 403: {
      const priv = likelyPrivilege(f.method, f.path);
      return new ApiError(ErrorCode.API_PERMISSION, `${what}: permission denied (${serverText})${priv ? `; probably missing ${priv}` : ''}`, 403, {}, {
        ...ctx, ...(priv ? { fix: `grant ${priv} to the token or user` } : {}),
      });
    }
    case 501:
      return new ApiError(ErrorCode.API_NOT_IMPLEMENTED, `${what}: not implemented by this PVE version (${serverText})`, 501, {}, ctx);
    default: {
      if (DIGEST_MISMATCH.test(serverText)) {
        return new ApiError(ErrorCode.API_DIGEST, `${what}: ${serverText}`, f.status, {}, { ...ctx, fix: 're-read the config and plan again' });
      }
      return new ApiError(ErrorCode.API_SERVER, `${what} failed: ${serverText}`, f.status, {}, ctx);
    }
  }
}

/** Connect/TLS/timeout failures, before any HTTP status exists. */
export function transportError(err: unknown, what: string, host: string, ctx: ErrorContext, secrets: readonly string[]): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.cause instanceof ApiError) return e.cause;
  const code = e?.code ?? e?.cause?.code ?? '';
  const detail = redact(firstLine(String(e?.message ?? err)), secrets);
  if (TLS_CODES.has(code)) {
    return new ApiError(ErrorCode.TLS, `${what}: the TLS certificate of ${host} is not trusted (${code})`, null, {}, {
      ...ctx, fix: 'pin its fingerprint (`pvenode cert info`) or give the cluster CA file (pve-root-ca.pem) in the api tls section',
    }, { cause: err });
  }
  if (TIMEOUT_CODES.has(code)) {
    return new ApiError(ErrorCode.API_TIMEOUT, `${what}: no answer from ${host} in time (${code})`, null, {}, ctx, { cause: err });
  }
  return new ApiError(ErrorCode.API_NETWORK, `${what}: cannot reach ${host}${ctx.cluster ? ` (cluster ${ctx.cluster})` : ''}: ${code || detail}`, null, {}, ctx, { cause: err });
}

/** True when an error means our digest was stale (HTTP error or failed task). */
export function isDigestMismatch(err: unknown): boolean {
  return err instanceof ApiError && (err.code === ErrorCode.API_DIGEST || DIGEST_MISMATCH.test(err.message));
}
