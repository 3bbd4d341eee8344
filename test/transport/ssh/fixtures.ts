/** Reads test/fixtures/known_hosts/<case>.txt and the public keys beside them. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KNOWN_HOSTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/known_hosts');

export function knownHostsFixture(name: string): string {
  return readFileSync(join(KNOWN_HOSTS_DIR, `${name}.txt`), 'utf8');
}

/** The key blob of `_keys/<name>.pub` (what a server offers during the handshake). */
export function fixtureKey(name: string): Buffer {
  const [, b64] = readFileSync(join(KNOWN_HOSTS_DIR, '_keys', `${name}.pub`), 'utf8').split(' ');
  return Buffer.from(b64 ?? '', 'base64');
}

/** The fingerprint `ssh-keygen -lf _keys/<name>.pub` printed when the fixture was made. */
export function fixtureFingerprint(name: string): string {
  const fp = readFileSync(join(KNOWN_HOSTS_DIR, '_keys', `${name}.fp`), 'utf8').split(' ')[1];
  if (!fp) throw new Error(`no fingerprint for ${name}`);
  return fp;
}
