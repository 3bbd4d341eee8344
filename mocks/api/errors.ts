/**
 * How the simulator fails, as pveproxy does: an HTTP status whose reason
 * phrase is the message's first line, and a body `{data:null, message}` (plus
 * per-parameter `errors` for 400s).
 */
import type { ParamErrors } from './propstring.js';

export class SimHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: ParamErrors,
  ) {
    super(message);
    this.name = 'SimHttpError';
  }
}

/** A Perl `die` in an API handler: HTTP 500 with the message. */
export const die = (message: string): SimHttpError => new SimHttpError(500, message);

export const paramError = (errors: ParamErrors): SimHttpError =>
  new SimHttpError(400, 'Parameter verification failed.', errors);

/** A reason phrase may not hold control characters; PVE uses the first line. */
export function statusLine(message: string): string {
  const first = message.split('\n')[0] ?? '';
  return first.replace(/[^\t\x20-\x7e]/g, '?').slice(0, 512);
}

export interface ErrorBody {
  data: null;
  message: string;
  errors?: ParamErrors;
}

export function errorBody(message: string, errors?: ParamErrors): ErrorBody {
  const body: ErrorBody = { data: null, message: message.endsWith('\n') ? message : `${message}\n` };
  if (errors) body.errors = errors;
  return body;
}
