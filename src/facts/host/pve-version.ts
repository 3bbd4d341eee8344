/**
 * Fact: the PVE release of a node, for the reboot gate's HA maintenance
 * decision (read only when HA resources run there).
 *
 * Command: `pveversion`. Parsed by `parsePveRelease` from its first line:
 *   pve-manager/8.2.4/faa83925c9641325 (running kernel: 6.8.12-1-pve)
 *     -> { release: 'pve-manager/8.2.4', major: 8, minor: 2 }
 * Anything else (plain Debian's "command not found", a stranger line) is null.
 */
import { cmd, render, type Script } from '../../transport/shell.js';
import type { RemoteHost } from '../../transport/types.js';

export interface PveRelease {
  /** `pve-manager/<version>` as the first word shows it. */
  readonly release: string;
  readonly major: number;
  readonly minor: number;
}

export function parsePveRelease(output: string): PveRelease | null {
  const line = output.trim().split('\n')[0] ?? '';
  const m = /^pve-manager\/(\d+)\.(\d+)/.exec(line);
  if (!m) return null;
  return { release: (line.split(/\s/)[0] ?? '').split('/').slice(0, 2).join('/'), major: Number(m[1]), minor: Number(m[2]) };
}

export async function readPveRelease(host: RemoteHost): Promise<{ line: string; release: PveRelease | null }> {
  const line = (await host.exec(render(cmd(['pveversion'])) as Script)).stdout.trim();
  return { line, release: parsePveRelease(line) };
}
