import { PassthroughError } from '../errors.js';
import type { ErrorInfo } from './types.js';

/** Any thrown value as the plain ErrorInfo a report carries. */
export function errorInfo(err: unknown, step?: string): ErrorInfo {
  if (err instanceof PassthroughError) {
    return { code: err.code, message: err.message, step: err.context.step ?? step, fix: err.context.fix };
  }
  const e = err as { code?: unknown; message?: unknown };
  return { code: typeof e?.code === 'string' ? e.code : 'E_INTERNAL', message: typeof e?.message === 'string' ? e.message : String(err), step };
}
