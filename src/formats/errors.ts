import { PassthroughError } from '../errors.js';
import { ErrorCode } from '../error-codes.js';

/** A value in a PVE format (hostpci, machine, map entry, UPID) that does not parse or cannot be written. */
export class FormatError extends PassthroughError {
  constructor(readonly format: string, message: string) {
    super(ErrorCode.FORMAT, `${format}: ${message}`);
  }
}

/** Show a hostile value safely in an error: JSON-quoted (control characters escaped) and cut short. */
export function show(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}
