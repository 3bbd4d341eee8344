/**
 * A known_hosts file for the OpenSSH baseline, so that it checks host keys
 * as strictly as the tool does (which pins the fingerprints the simulator
 * wrote into the inventory). Keys come from ssh-keyscan and are accepted
 * only when their fingerprint matches the pinned one.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { SimHostInfo } from './protocol.js';

const run = promisify(execFile);

/** `SHA256:…` of a known_hosts line's key, as ssh-keygen -l prints it. */
export function fingerprintOfLine(line: string): string | null {
  const blob = line.trim().split(/\s+/)[2];
  if (!blob) return null;
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

async function scanOne(h: SimHostInfo): Promise<string> {
  const { stdout } = await run('ssh-keyscan', ['-t', 'ed25519', '-p', String(h.port), '127.0.0.1'], { timeout: 20_000 });
  const line = stdout.split('\n').find((l) => l.startsWith(`[127.0.0.1]:${h.port} `));
  if (!line) throw new Error(`ssh-keyscan found no ed25519 key on port ${h.port} (${h.node})`);
  if (fingerprintOfLine(line) !== h.fingerprint) throw new Error(`${h.node}: scanned host key does not match the pinned fingerprint`);
  return line;
}

export async function writeKnownHosts(hosts: readonly SimHostInfo[], file: string, parallel = 8): Promise<void> {
  const lines: string[] = new Array(hosts.length);
  let next = 0;
  const worker = async () => {
    while (next < hosts.length) {
      const i = next++;
      lines[i] = await scanOne(hosts[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, hosts.length) }, worker));
  await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
}
