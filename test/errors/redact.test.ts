/**
 * The secret filter masks secret VALUES, of any length, and never ordinary
 * words (issue 16: "POST /access/ticket: *** failed" and
 * "export PVE_TOKEN_SECRET=*** before running" were the filter eating prose).
 */
import { describe, expect, it } from 'vitest';
import { redact } from '../../src/errors.js';

describe('redact', () => {
  it('keeps the words of error messages that merely name a secret', () => {
    const lines = [
      'POST /access/ticket: cannot reach 127.0.0.1:1 (cluster lab): ECONNREFUSED',
      'lab: API token secret: environment variable NOPE is not set — fix: export PVE_TOKEN_SECRET=… before running',
      'password for root@pam: ',
      'the passphrase: is wrong for key ~/.ssh/id_ed25519',
      '"password": {"env": "PVE_ROOT_PASSWORD"}',
    ];
    for (const l of lines) expect(redact(l, [])).toBe(l);
  });

  it('masks every known value, whatever its length, longest first', () => {
    expect(redact('pw=ab and abc and x', ['ab', 'abc', 'x'])).toBe('pw=*** and *** and ***');
    expect(redact('a 3-char sec: s3c', ['s3c'])).toBe('a 3-char sec: ***');
    expect(redact('nothing here', [''])).toBe('nothing here');
  });

  it('masks values in the protocol positions even when the value was not resolved by this run', () => {
    expect(redact('Authorization: PVEAPIToken=root@pam!ci=0000-1111')).toBe('Authorization: PVEAPIToken=root@pam!ci=***');
    expect(redact('Cookie: PVEAuthCookie=PVE:root@pam:ABC::sig')).toBe('Cookie: PVEAuthCookie=***');
    expect(redact('CSRFPreventionToken: 65A:xyz')).toBe('CSRFPreventionToken: ***');
    expect(redact('{"username":"root@pam","password":"hunter2 with \\"quote\\""}')).toBe('{"username":"root@pam","password":"***"}');
    expect(redact('username=root%40pam&password=hunter2&otp=1')).toBe('username=root%40pam&password=***&otp=1');
    expect(redact('password=hunter2')).toBe('password=***');
    expect(redact('/access/ticket?tfa-challenge=abc&x=1')).toBe('/access/ticket?tfa-challenge=***&x=1');
  });
});
