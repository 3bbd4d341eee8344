import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostKeyError } from '../../../src/errors.js';
import { checkHostKey } from '../../../src/transport/ssh/host-key-check.js';
import { decideKnownHosts, expandHome, fingerprintOf, preferredHostKeyAlgorithms } from '../../../src/transport/ssh/host-key.js';
import { parseKnownHosts } from '../../../src/transport/ssh/known-hosts.js';
import { fixtureFingerprint, fixtureKey, knownHostsFixture } from './fixtures.js';

const A = fixtureKey('pve1_ed25519');
const B = fixtureKey('pve1_new_ed25519');
const E = fixtureKey('pve1_ecdsa');
const R = fixtureKey('pve2_rsa');

function decide(file: string, host: string, port: number, key: Buffer) {
  return decideKnownHosts(parseKnownHosts(knownHostsFixture(file)).entries, host, port, key);
}

describe('fingerprintOf', () => {
  it.each(['pve1_ed25519', 'pve1_new_ed25519', 'pve1_ecdsa', 'pve2_rsa'])('equals ssh-keygen -lf for %s', (name) => {
    expect(fingerprintOf(fixtureKey(name))).toBe(fixtureFingerprint(name));
  });
});

describe('decideKnownHosts', () => {
  it('matches the listed key (plain, comma list, port, hashed)', () => {
    expect(decide('plain', 'pve1.example.com', 22, A)).toEqual({ kind: 'match', line: 2 });
    expect(decide('comma-list', '192.0.2.11', 22, A)).toEqual({ kind: 'match', line: 1 });
    expect(decide('non-default-port', 'pve1.example.com', 2222, A)).toEqual({ kind: 'match', line: 2 });
    expect(decide('hashed', 'pve1.example.com', 2222, E)).toEqual({ kind: 'match', line: 3 });
    expect(decide('hashed', '192.0.2.12', 22, R)).toEqual({ kind: 'match', line: 4 });
  });

  it('calls a host known with other keys changed, and says where', () => {
    expect(decide('changed-key', 'pve1.example.com', 22, A)).toEqual({ kind: 'changed', lines: [2], knownTypes: ['ssh-ed25519'] });
    // port 22 of the same name holds B, so A there is a change, not a match
    expect(decide('non-default-port', 'pve1.example.com', 22, A)).toMatchObject({ kind: 'changed', lines: [3] });
    // a different type than the known ones is still refused
    expect(decide('plain', 'pve1.example.com', 22, E)).toMatchObject({ kind: 'changed', knownTypes: ['ssh-ed25519'] });
    expect(decide('hashed', 'pve1.example.com', 22, B)).toMatchObject({ kind: 'changed', lines: [2] });
  });

  it('calls a host that no line names unknown', () => {
    expect(decide('plain', 'pve9.example.com', 22, A)).toEqual({ kind: 'unknown' });
    expect(decide('patterns', 'bmc1.lab.example.com', 22, A)).toEqual({ kind: 'unknown' });
    // @cert-authority lines are not host keys
    expect(decide('cert-authority', 'pve1.example.com', 22, B)).toEqual({ kind: 'unknown' });
  });

  it('refuses a revoked key even where another line lists it', () => {
    expect(decide('revoked', 'pve1.example.com', 22, A)).toEqual({ kind: 'revoked', line: 1 });
  });

  it('ignores unreadable lines rather than matching them', () => {
    expect(decide('hostile', 'pve1.example.com', 22, A)).toEqual({ kind: 'unknown' });
    expect(decide('hostile', 'pve2.example.com', 22, R)).toEqual({ kind: 'match', line: 13 });
  });
});

describe('preferredHostKeyAlgorithms', () => {
  it('asks first for the types known for the host, then the rest', () => {
    const entries = parseKnownHosts(knownHostsFixture('multi-type')).entries;
    const list = preferredHostKeyAlgorithms(entries, 'pve1.example.com', 22);
    expect(list.slice(0, 2)).toEqual(['ecdsa-sha2-nistp256', 'ssh-ed25519']);
    expect(new Set(list).size).toBe(list.length);
    expect(preferredHostKeyAlgorithms(entries, 'pve2.example.com', 22).slice(0, 3)).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    expect(preferredHostKeyAlgorithms([], 'x', 22)[0]).toBe('ssh-ed25519');
  });
});

describe('expandHome', () => {
  it('expands ~ and ~/ only', () => {
    expect(expandHome('~/.ssh/known_hosts', '/home/ops/')).toBe('/home/ops/.ssh/known_hosts');
    expect(expandHome('~', '/root')).toBe('/root');
    expect(expandHome('~other/known_hosts', '/root')).toBe('~other/known_hosts');
    expect(expandHome('/etc/ssh/ssh_known_hosts', '/root')).toBe('/etc/ssh/ssh_known_hosts');
  });
});

describe('checkHostKey', () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pvpt-kh-')); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });
  const target = { node: 'pve1', host: 'pve1.example.com', port: 22 };

  async function refusal(p: Promise<void>): Promise<HostKeyError> {
    const err = await p.then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    return err as HostKeyError;
  }

  it('accepts a pinned fingerprint and refuses another, showing both', async () => {
    await checkHostKey({ fingerprint: fixtureFingerprint('pve1_ed25519') }, target, A);
    const err = await refusal(checkHostKey({ fingerprint: fixtureFingerprint('pve1_ed25519') }, target, B));
    expect(err.fingerprint).toBe(fixtureFingerprint('pve1_new_ed25519'));
    expect(err.message).toContain(fixtureFingerprint('pve1_new_ed25519'));
    expect(err.message).toContain(fixtureFingerprint('pve1_ed25519'));
    expect(err.context).toMatchObject({ node: 'pve1', fix: expect.stringMatching(/hostKey\.fingerprint/) });
  });

  it('refuses an unknown host with the fingerprint and the fix, and leaves the file alone', async () => {
    const path = join(dir, 'known_hosts');
    await writeFile(path, knownHostsFixture('plain'));
    const err = await refusal(checkHostKey({ knownHosts: path }, { ...target, host: 'pve9.example.com' }, A));
    expect(err.message).toContain(fixtureFingerprint('pve1_ed25519'));
    expect(err.context.fix).toBe('re-run with --accept-new-host-keys or pin hostKey.fingerprint');
    expect(await readFile(path, 'utf8')).toBe(knownHostsFixture('plain'));
  });

  it('refuses a changed key even with acceptNew, naming file:line', async () => {
    const path = join(dir, 'known_hosts');
    await writeFile(path, knownHostsFixture('changed-key'));
    const err = await refusal(checkHostKey({ knownHosts: path, acceptNew: true }, target, A));
    expect(err.message).toContain(`${path}:2`);
    expect(err.message).toContain(fixtureFingerprint('pve1_ed25519'));
    expect(err.context.fix).toMatch(/^verify out of band, then update known_hosts/);
    expect(await readFile(path, 'utf8')).toBe(knownHostsFixture('changed-key'));
  });

  it('refuses a revoked key', async () => {
    const path = join(dir, 'known_hosts');
    await writeFile(path, knownHostsFixture('revoked'));
    const err = await refusal(checkHostKey({ knownHosts: path, acceptNew: true }, target, A));
    expect(err.message).toMatch(/revoked/);
  });

  it('with acceptNew creates the directory (0700) and file (0600), then matches', async () => {
    const path = join(dir, 'nested', '.ssh', 'known_hosts');
    const policy = { knownHosts: path, acceptNew: true };
    await checkHostKey(policy, { ...target, host: '127.0.0.1', port: 40022 }, A);
    expect(await readFile(path, 'utf8')).toBe(`[127.0.0.1]:40022 ssh-ed25519 ${A.toString('base64')}\n`);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'nested', '.ssh'))).mode & 0o777).toBe(0o700);
    await checkHostKey({ knownHosts: path }, { ...target, host: '127.0.0.1', port: 40022 }, A);
    await refusal(checkHostKey(policy, { ...target, host: '127.0.0.1', port: 40022 }, B));
  });

  it('appends on a new line when the file lacks a final newline', async () => {
    const path = join(dir, 'known_hosts');
    await writeFile(path, knownHostsFixture('plain').trimEnd());
    await checkHostKey({ knownHosts: path, acceptNew: true }, { ...target, host: 'pve3.example.com' }, B);
    const lines = (await readFile(path, 'utf8')).split('\n');
    expect(lines[3]).toBe(`pve3.example.com ssh-ed25519 ${B.toString('base64')}`);
    expect(decideKnownHosts(parseKnownHosts(lines.join('\n')).entries, 'pve1.example.com', 22, A)).toEqual({ kind: 'match', line: 2 });
  });

  it('expands ~ in the path', async () => {
    await checkHostKey({ knownHosts: '~/.ssh/known_hosts', acceptNew: true }, target, A, { home: dir });
    expect(await readFile(join(dir, '.ssh', 'known_hosts'), 'utf8')).toContain('pve1.example.com ssh-ed25519 ');
  });
});
