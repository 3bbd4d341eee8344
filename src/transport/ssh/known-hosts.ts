/**
 * A pure reader for OpenSSH known_hosts files (the subset of sshd(8)
 * "SSH_KNOWN_HOSTS FILE FORMAT" that a client needs): plain host patterns,
 * hashed `|1|salt|hash` names, `@revoked` and `@cert-authority` markers.
 * Lines it cannot read are reported, never guessed at.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type KnownHostsMarker = 'revoked' | 'cert-authority';

export type HostField =
  | { readonly kind: 'patterns'; readonly patterns: readonly string[] }
  | { readonly kind: 'hashed'; readonly salt: Buffer; readonly hash: Buffer };

export interface KnownHostsEntry {
  /** 1-based line number, for messages such as `~/.ssh/known_hosts:12`. */
  readonly line: number;
  readonly marker?: KnownHostsMarker;
  readonly hosts: HostField;
  readonly keyType: string;
  /** The decoded key blob (SSH wire format), comparable with what the server offers. */
  readonly key: Buffer;
}

export interface KnownHostsFile {
  readonly entries: readonly KnownHostsEntry[];
  /** Lines skipped because they could not be read, with the reason. */
  readonly invalid: readonly { readonly line: number; readonly reason: string }[];
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** Key type recorded inside an SSH wire-format key blob (its first string), or undefined when malformed. */
export function keyTypeOfBlob(blob: Buffer): string | undefined {
  if (blob.length < 4) return undefined;
  const len = blob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > blob.length) return undefined;
  const type = blob.subarray(4, 4 + len).toString('latin1');
  return /^[A-Za-z0-9@._-]+$/.test(type) ? type : undefined;
}

export function parseKnownHosts(text: string): KnownHostsFile {
  const entries: KnownHostsEntry[] = [];
  const invalid: { line: number; reason: string }[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.replace(/\r$/, '').trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const result = parseLine(trimmed.split(/[ \t]+/));
    if (typeof result === 'string') invalid.push({ line, reason: result });
    else entries.push({ line, ...result });
  });
  return { entries, invalid };
}

function parseLine(fields: string[]): Omit<KnownHostsEntry, 'line'> | string {
  let marker: KnownHostsMarker | undefined;
  if (fields[0]?.startsWith('@')) {
    const m = fields.shift();
    if (m === '@revoked') marker = 'revoked';
    else if (m === '@cert-authority') marker = 'cert-authority';
    else return `unknown marker ${JSON.stringify(m?.slice(0, 40))}`;
  }
  const [hostText, keyType, keyText] = fields;
  if (hostText === undefined || keyType === undefined || keyText === undefined) return 'expected: hosts keytype base64-key';
  const hosts = parseHostField(hostText);
  if (typeof hosts === 'string') return hosts;
  if (/^\d+$/.test(keyType)) return 'SSH-1 (RSA1) entries are not supported';
  if (!BASE64.test(keyText)) return 'key is not base64';
  const key = Buffer.from(keyText, 'base64');
  const embedded = keyTypeOfBlob(key);
  if (embedded === undefined) return 'key blob is malformed';
  if (embedded !== keyType) return `key type ${JSON.stringify(keyType.slice(0, 40))} does not match the key (${embedded})`;
  return marker ? { marker, hosts, keyType, key } : { hosts, keyType, key };
}

function parseHostField(text: string): HostField | string {
  if (text.startsWith('|')) {
    const m = /^\|1\|([A-Za-z0-9+/]+={0,2})\|([A-Za-z0-9+/]+={0,2})$/.exec(text);
    if (!m?.[1] || !m[2]) return 'hashed host name is not in the |1|salt|hash form';
    const salt = Buffer.from(m[1], 'base64');
    const hash = Buffer.from(m[2], 'base64');
    if (salt.length !== 20 || hash.length !== 20) return 'hashed host name has a salt or hash of the wrong length';
    return { kind: 'hashed', salt, hash };
  }
  const patterns = text.split(',');
  if (patterns.some((p) => p === '' || p === '!')) return 'empty host pattern';
  return { kind: 'patterns', patterns };
}

/** The name OpenSSH looks up (and writes): `host` on port 22, `[host]:port` otherwise; lowercase. */
export function hostToken(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** `*` and `?` wildcards (known_hosts, ssh_config Host patterns, Include globs); iterative so a hostile pattern cannot blow up. */
export function wildcardMatch(name: string, pattern: string, caseInsensitive = true): boolean {
  const s = caseInsensitive ? name.toLowerCase() : name;
  const p = caseInsensitive ? pattern.toLowerCase() : pattern;
  let si = 0;
  let pi = 0;
  let star = -1;
  let mark = 0;
  while (si < s.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === s[si])) {
      si++;
      pi++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = si;
    } else if (star >= 0) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (p[pi] === '*') pi++;
  return pi === p.length;
}

/** OpenSSH match_hostname: any negated pattern that matches wins (no match); else any positive one. */
export function hostMatches(field: HostField, host: string, port: number): boolean {
  const token = hostToken(host, port);
  if (field.kind === 'hashed') {
    const digest = createHmac('sha1', field.salt).update(token).digest();
    return timingSafeEqual(digest, field.hash);
  }
  let positive = false;
  for (const pattern of field.patterns) {
    if (pattern.startsWith('!')) {
      if (wildcardMatch(token, pattern.slice(1))) return false;
    } else if (wildcardMatch(token, pattern)) {
      positive = true;
    }
  }
  return positive;
}

/** A known_hosts line for a newly accepted key (plain, not hashed: the operator can read what was added). */
export function knownHostsLine(host: string, port: number, key: Buffer): string {
  if (!/^[A-Za-z0-9.:_-]+$/.test(host)) throw new Error(`refusing to write host ${JSON.stringify(host.slice(0, 80))} to known_hosts`);
  const type = keyTypeOfBlob(key);
  if (type === undefined) throw new Error('refusing to write a malformed host key to known_hosts');
  return `${hostToken(host, port)} ${type} ${key.toString('base64')}\n`;
}
