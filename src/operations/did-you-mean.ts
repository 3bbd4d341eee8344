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

/** VM ids by value (99 before 100), everything else by code unit (PCI addresses are fixed-width hex, so that is bus order). */
function byName(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Every candidate at the smallest distance from `wanted`, once each, sorted:
 * the same names give the same offer whatever order the host or the API
 * listed them in, and no tie is silently preferred to another.
 */
export function nearest(wanted: string, candidates: readonly string[]): string[] {
  if (candidates.length === 0) return [];
  const scored = [...new Set(candidates)].map((c) => ({ c, d: editDistance(wanted.toLowerCase(), c.toLowerCase()) }));
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).map((s) => s.c).sort(byName);
}

/**
 * ` (did you mean 0000:01:00.0?)`, ` (did you mean 101 or 103?)`, or '' when
 * there is nothing to offer. At most `show` ties are named, the first in
 * order, and the rest counted, so a host with many similar addresses does not
 * get a paragraph.
 */
export function didYouMean(wanted: string, candidates: readonly string[], show = 3): string {
  const ties = nearest(wanted, candidates);
  if (ties.length === 0) return '';
  const named = ties.slice(0, show);
  const more = ties.length - named.length;
  const list = more > 0 ? `${named.join(', ')} or ${more} more as close` : named.length === 1 ? named[0]! : `${named.slice(0, -1).join(', ')} or ${named.at(-1)!}`;
  return ` (did you mean ${list}?)`;
}
