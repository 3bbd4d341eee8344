import { PassthroughError } from '../errors.js';
import type { ErrorInfo } from './types.js';
import { ErrorCode } from '../error-codes.js';

/**
 * Any thrown value as the plain ErrorInfo a report carries. The code is always
 * one of the catalogue's: anything that is not a PassthroughError (a bug, or a
 * library's own error) is E_INTERNAL with its message.
 */
export function errorInfo(err: unknown, step?: string): ErrorInfo {
  if (err instanceof PassthroughError) {
    return { code: err.code, message: err.message, step: err.context.step ?? step, fix: err.context.fix };
  }
  const e = err as { message?: unknown };
  return { code: ErrorCode.INTERNAL, message: typeof e?.message === 'string' ? e.message : String(err), step };
}

/**
 * Promise.all that lets every job finish before it rethrows the first failure,
 * so no job is still opening connections after its run has been closed.
 */
export async function settleAll<T>(jobs: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
