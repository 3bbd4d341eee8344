/**
 * Kernel releases: parsing, comparing, and which kernel boots next.
 * Releases look like 6.8.12-9-pve, 5.15.158-2-pve, 6.1.0-28-amd64. Comparison
 * uses the leading numeric parts (6.8.12-9 -> [6, 8, 12, 9]), so 6.14 > 6.8.
 */
import { parseGlobList } from './parse-glob-list.js';
import { excerpt, splitLines, type Parsed } from './text.js';

const RELEASE = /^\d+\.\d+[A-Za-z0-9._+~-]{0,120}$/;

/** The numeric prefix of a release, or null when it does not start like one. */
export function kernelNumbers(release: string): number[] | null {
  if (!RELEASE.test(release)) return null;
  const nums: number[] = [];
  for (const part of release.split(/[.\-+~]/)) {
    if (!/^\d+$/.test(part)) break;
    nums.push(Number(part));
  }
  return nums.length >= 2 ? nums : null;
}

/** <0, 0, >0 like a sort comparator; unparsable releases sort first. */
export function compareKernels(a: string, b: string): number {
  const x = kernelNumbers(a);
  const y = kernelNumbers(b);
  if (!x || !y) return (x ? 1 : 0) - (y ? 1 : 0);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** `uname -r` output. */
export function parseUname(output: string): Parsed<string> {
  const line = splitLines(output)[0]?.trim() ?? '';
  if (kernelNumbers(line) === null) return { value: '', errors: [`uname: unexpected output ${excerpt(line)}`] };
  return { value: line, errors: [] };
}

/** `printf '%s\n' /boot/vmlinuz-*` -> releases, oldest first. */
export function parseInstalledKernels(output: string): Parsed<string[]> {
  const listed = parseGlobList(output, '/boot/vmlinuz-');
  const errors = [...listed.errors];
  const releases: string[] = [];
  for (const path of listed.value) {
    const release = path.slice('/boot/vmlinuz-'.length);
    if (kernelNumbers(release) === null) {
      errors.push(`kernels: unexpected file ${excerpt(path)}`);
      continue;
    }
    releases.push(release);
  }
  return { value: [...new Set(releases)].sort(compareKernels), errors };
}

/** A pin file holds one release on its first line; empty or missing means no pin. */
export function parsePin(content: string | null): string | null {
  const first = content === null ? '' : (splitLines(content)[0]?.trim() ?? '');
  return kernelNumbers(first) === null ? null : first;
}

/**
 * The kernel that boots next: the one-time next-boot pin, else the permanent
 * pin, else the newest installed, else the running one. A pin naming a kernel
 * that is not installed is ignored (the loader falls back to its default).
 */
export function nextKernel(k: {
  running: string;
  installed: readonly string[];
  pin: string | null;
  nextBootPin: string | null;
}): { release: string; why: string } {
  const installed = (r: string | null): r is string => r !== null && k.installed.includes(r);
  if (installed(k.nextBootPin)) return { release: k.nextBootPin, why: 'next-boot pin' };
  if (installed(k.pin)) return { release: k.pin, why: 'pinned' };
  const newest = [...k.installed].sort(compareKernels).at(-1);
  if (newest !== undefined) return { release: newest, why: 'newest installed' };
  return { release: k.running, why: 'running (no installed kernels listed)' };
}
