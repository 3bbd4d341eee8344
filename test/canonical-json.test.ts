import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/canonical-json.js';

describe('canonicalJson (facts fingerprint and inventory digest)', () => {
  it('sorts keys at every depth and leaves undefined properties out', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 2, y: undefined }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"z":2}]},"b":1}');
  });
  it('gives equal text for equal values whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: [true, null] })).toBe(canonicalJson({ y: [true, null], x: 1 }));
  });
  it('writes what JSON.stringify with sorted keys writes, so saved inventory digests stay valid', () => {
    const sorted = (v: unknown): string => JSON.stringify(v, (_k, val: unknown) =>
      val && typeof val === 'object' && !Array.isArray(val) ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : val);
    const inv = { version: 1, clusters: [{ name: 'lab', nodes: [{ name: 'pve1', devices: [{ address: '0000:01:00.0', allFunctions: true }], ssh: { host: 'h', port: 22 } }], api: undefined, Zeta: 'é\u2028' }] };
    expect(canonicalJson(inv)).toBe(sorted(inv));
  });
});
