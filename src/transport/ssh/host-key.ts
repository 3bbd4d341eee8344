/**
 * Host key policy and the pure decision: given what the server offered and
 * what the operator trusts, accept, refuse, or (only when asked) learn.
 * Nothing here touches a file or a socket; see host-key-check.ts for that.
 */
import { createHash } from 'node:crypto';
import { hostMatches, keyTypeOfBlob, type KnownHostsEntry } from './known-hosts.js';

/** Either a pinned fingerprint (`SHA256:…`) or a known_hosts file (`~` expanded) that may learn new hosts. */
export type HostKeyPolicy =
  | { readonly fingerprint: string }
  | { readonly knownHosts: string; readonly acceptNew?: boolean };

/** `SHA256:` + unpadded base64 of the key blob's SHA-256, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export type KnownHostsDecision =
  | { readonly kind: 'match'; readonly line: number }
  /** The offered key is listed as @revoked (anywhere in the file: a revoked key is never acceptable). */
  | { readonly kind: 'revoked'; readonly line: number }
  /** The host is known, but only with other keys. */
  | { readonly kind: 'changed'; readonly lines: readonly number[]; readonly knownTypes: readonly string[] }
  | { readonly kind: 'unknown' };

export function decideKnownHosts(entries: readonly KnownHostsEntry[], host: string, port: number, offered: Buffer): KnownHostsDecision {
  const revoked = entries.find((e) => e.marker === 'revoked' && e.key.equals(offered));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const forHost = entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, host, port));
  const match = forHost.find((e) => e.key.equals(offered));
  if (match) return { kind: 'match', line: match.line };
  if (forHost.length > 0) {
    return { kind: 'changed', lines: forHost.map((e) => e.line), knownTypes: [...new Set(forHost.map((e) => e.keyType))] };
  }
  return { kind: 'unknown' };
}

/** ssh2's host key algorithms, in its default order (ssh-dss left out, as ssh2 does). */
export const HOST_KEY_ALGORITHMS = [
  'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa',
] as const;
export type HostKeyAlgorithm = (typeof HOST_KEY_ALGORITHMS)[number];

function algorithmsFor(keyType: string): readonly HostKeyAlgorithm[] {
  if (keyType === 'ssh-rsa') return ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  return HOST_KEY_ALGORITHMS.filter((a) => a === keyType);
}

/**
 * Like OpenSSH, ask first for the key types already known for this host, so a
 * server with several host keys offers the one we can check rather than one
 * that would look "changed".
 */
export function preferredHostKeyAlgorithms(entries: readonly KnownHostsEntry[], host: string, port: number): HostKeyAlgorithm[] {
  const known = entries.filter((e) => e.marker === undefined && hostMatches(e.hosts, host, port)).flatMap((e) => algorithmsFor(e.keyType));
  return [...new Set([...known, ...HOST_KEY_ALGORITHMS])];
}

/** Key type of an offered key, for messages; `unknown-type` when the blob is malformed. */
export function describeKeyType(key: Buffer): string {
  return keyTypeOfBlob(key) ?? 'unknown-type';
}

/** `~` and `~/…` to the given home directory; everything else unchanged. */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return `${home.replace(/\/+$/, '')}/${path.slice(2)}`;
  return path;
}
