import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../fixtures/formats/', import.meta.url));

/** Non-empty lines of test/fixtures/formats/<format>/<name>; a file without any fails (a test over no case proves nothing). */
export function lines(format: string, name: string): string[] {
  const out = readFileSync(`${dir}${format}/${name}`, 'utf8').split('\n').filter((l) => l.length > 0);
  if (out.length === 0) throw new Error(`no cases in test/fixtures/formats/${format}/${name}`);
  return out;
}

/** Hostile cases: one JSON array [value, fragment the error must contain] per line. */
export function hostile(format: string): Array<[string, string]> {
  return lines(format, 'hostile.jsonl').map((l) => JSON.parse(l) as [string, string]);
}

/** A small deterministic PRNG (mulberry32) so property tests are reproducible. */
export function rng(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T; bool(): boolean } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n) => Math.floor(next() * n),
    pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number],
    bool: () => next() < 0.5,
  };
}

export function hex(r: ReturnType<typeof rng>, digits: number): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += '0123456789abcdef'[r.int(16)];
  return s;
}
