export { PveClient, TaskFailedError, taskSucceeded } from './client.js';
export { isDigestMismatch } from './http-errors.js';
export { TlsPinError, normaliseFingerprint } from './tls.js';
export { TICKET_RENEW_AFTER_MS } from './session.js';
export type * from './types.js';
