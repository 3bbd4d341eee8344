/**
 * "did you mean …": the closest existing names to one that does not resolve
 * (a PCI address, a VM id, a mapping id), by edit distance. Pure.
 */

/** Levenshtein distance (insert, delete, substitute: 1 each). */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidates at the smallest distance from `wanted` (at most `max`), in their given order. */
export function nearest(wanted: string, candidates: readonly string[], max = 2): string[] {
  if (candidates.length === 0) return [];
  const scored = candidates.map((c) => ({ c, d: editDistance(wanted.toLowerCase(), c.toLowerCase()) }));
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).slice(0, max).map((s) => s.c);
}

/** ` (did you mean 0000:01:00.0?)`, or '' when there is nothing to offer. */
export function didYouMean(wanted: string, candidates: readonly string[]): string {
  const n = nearest(wanted, candidates);
  return n.length ? ` (did you mean ${n.join(' or ')}?)` : '';
}
