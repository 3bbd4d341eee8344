/** Request-log redaction: secrets never reach a log line. */

const SECRET_KEYS = /pass|secret|ticket|tfa|otp|csrf|token|sshkeys/i;

export const REDACTED = '<redacted>';

export function redactParams(params: Readonly<Record<string, string | readonly string[]>>): Record<string, string | readonly string[]> {
  const out: Record<string, string | readonly string[]> = {};
  for (const [k, v] of Object.entries(params)) out[k] = SECRET_KEYS.test(k) ? REDACTED : v;
  return out;
}
