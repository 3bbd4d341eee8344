/**
 * Canonical JSON: object keys sorted (by UTF-16 code units), undefined
 * properties left out, so equal values give equal text. The one encoder behind
 * the facts fingerprint and the inventory digest (docs/architecture.md "Plan
 * format"). An undefined array element is `null`, as JSON.stringify writes it.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}
