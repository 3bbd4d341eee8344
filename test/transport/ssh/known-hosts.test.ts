import { describe, expect, it } from 'vitest';
import { hostMatches, hostToken, keyTypeOfBlob, knownHostsLine, parseKnownHosts, wildcardMatch } from '../../../src/transport/ssh/known-hosts.js';
import { fixtureKey, knownHostsFixture } from './fixtures.js';

const A = fixtureKey('pve1_ed25519');

function matchingLines(file: string, host: string, port: number): number[] {
  return parseKnownHosts(knownHostsFixture(file)).entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, host, port)).map((e) => e.line);
}

describe('parseKnownHosts', () => {
  it('reads plain entries with their key types and blobs', () => {
    const { entries, invalid } = parseKnownHosts(knownHostsFixture('plain'));
    expect(invalid).toEqual([]);
    expect(entries.map((e) => [e.line, e.keyType])).toEqual([[1, 'ssh-rsa'], [2, 'ssh-ed25519'], [3, 'ssh-ed25519']]);
    expect(entries[1]?.key.equals(A)).toBe(true);
    expect(entries[1]?.hosts).toEqual({ kind: 'patterns', patterns: ['pve1.example.com'] });
  });

  it('reads markers and keeps them apart from plain entries', () => {
    const revoked = parseKnownHosts(knownHostsFixture('revoked')).entries;
    expect(revoked.map((e) => e.marker)).toEqual(['revoked', undefined]);
    const ca = parseKnownHosts(knownHostsFixture('cert-authority')).entries;
    expect(ca.map((e) => e.marker)).toEqual(['cert-authority']);
  });

  it('copes with CRLF line ends, tabs and trailing comments', () => {
    const { entries, invalid } = parseKnownHosts(knownHostsFixture('crlf-tabs-comment'));
    expect(invalid).toEqual([]);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.key.equals(A)).toBe(true);
    expect(hostMatches(entries[0]!.hosts, 'pve1.example.com', 22)).toBe(true);
  });

  it('skips every unreadable line of a hostile file, with a reason, and keeps the good one', () => {
    const { entries, invalid } = parseKnownHosts(knownHostsFixture('hostile'));
    expect(entries.map((e) => e.line)).toEqual([13]);
    expect(invalid.map((i) => i.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    const reasons = new Map(invalid.map((i) => [i.line, i.reason]));
    expect(reasons.get(5)).toMatch(/does not match the key/);
    expect(reasons.get(6)).toMatch(/unknown marker/);
    expect(reasons.get(7)).toMatch(/wrong length/);
    expect(reasons.get(9)).toMatch(/empty host pattern/);
    expect(reasons.get(4)).toMatch(/not base64/);
    expect(reasons.get(10)).toMatch(/SSH-1/);
    expect(reasons.get(12)).toMatch(/malformed/);
  });
});

describe('host matching', () => {
  it('uses host on port 22 and [host]:port elsewhere, lowercase', () => {
    expect(hostToken('PVE1.example.com', 22)).toBe('pve1.example.com');
    expect(hostToken('pve1.example.com', 2222)).toBe('[pve1.example.com]:2222');
    expect(matchingLines('non-default-port', 'pve1.example.com', 2222)).toEqual([2]);
    expect(matchingLines('non-default-port', 'pve1.example.com', 22)).toEqual([3]);
    expect(matchingLines('non-default-port', 'pve1.example.com', 2200)).toEqual([]);
  });

  it('matches any name of a comma list, case-insensitively', () => {
    expect(matchingLines('comma-list', 'pve1', 22)).toEqual([1]);
    expect(matchingLines('comma-list', '192.0.2.11', 22)).toEqual([1]);
    expect(matchingLines('comma-list', 'PVE2.Example.COM', 22)).toEqual([2]);
    expect(matchingLines('comma-list', 'pve3', 22)).toEqual([]);
  });

  it('honours * and ? wildcards and lets a negation veto the line', () => {
    expect(matchingLines('patterns', 'pve7.lab.example.com', 22)).toEqual([2]);
    expect(matchingLines('patterns', 'bmc1.lab.example.com', 22)).toEqual([]);
    expect(matchingLines('patterns', 'bmc12.lab.example.com', 22)).toEqual([2]);
    expect(matchingLines('patterns', '192.0.2.9', 22)).toEqual([3]);
    expect(matchingLines('patterns', '192.0.2.99', 22)).toEqual([]);
    expect(matchingLines('patterns', '10.0.0.5', 2222)).toEqual([4]);
    expect(matchingLines('patterns', '10.0.0.5', 22)).toEqual([]);
  });

  it('matches hashed names written by ssh-keygen -H, including [host]:port', () => {
    expect(matchingLines('hashed', 'pve1.example.com', 22)).toEqual([2]);
    expect(matchingLines('hashed', 'pve1.example.com', 2222)).toEqual([3]);
    expect(matchingLines('hashed', '192.0.2.12', 22)).toEqual([4]);
    expect(matchingLines('hashed', 'pve1.example.org', 22)).toEqual([]);
  });

  it('wildcards stay linear on hostile patterns', () => {
    expect(wildcardMatch('a'.repeat(5000), `${'*a'.repeat(2000)}b`)).toBe(false);
    expect(wildcardMatch('abc', '*')).toBe(true);
    expect(wildcardMatch('', '*')).toBe(true);
    expect(wildcardMatch('abc', 'a?c')).toBe(true);
    expect(wildcardMatch('abc', 'a?')).toBe(false);
  });
});

describe('knownHostsLine', () => {
  it('writes host on port 22 and [host]:port elsewhere, with the key type from the blob', () => {
    const b64 = A.toString('base64');
    expect(knownHostsLine('pve1.example.com', 22, A)).toBe(`pve1.example.com ssh-ed25519 ${b64}\n`);
    expect(knownHostsLine('127.0.0.1', 40022, A)).toBe(`[127.0.0.1]:40022 ssh-ed25519 ${b64}\n`);
    // what it writes, it reads back as a match
    const { entries } = parseKnownHosts(knownHostsLine('127.0.0.1', 40022, A));
    expect(entries[0] && hostMatches(entries[0].hosts, '127.0.0.1', 40022)).toBe(true);
  });

  it('refuses host names that would corrupt the file', () => {
    expect(() => knownHostsLine('pve1 evil', 22, A)).toThrow(/refusing/);
    expect(() => knownHostsLine('pve1,*', 22, A)).toThrow(/refusing/);
    expect(() => knownHostsLine('pve1', 22, Buffer.from('junk'))).toThrow(/malformed/);
  });

  it('reads the key type out of a blob', () => {
    expect(keyTypeOfBlob(fixtureKey('pve2_rsa'))).toBe('ssh-rsa');
    expect(keyTypeOfBlob(fixtureKey('pve1_ecdsa'))).toBe('ecdsa-sha2-nistp256');
    expect(keyTypeOfBlob(Buffer.from([0, 0, 0, 200, 1]))).toBeUndefined();
  });
});
