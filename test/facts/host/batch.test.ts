/** Whole batch outputs (as `batch()` renders them, nonce included) through parseBatch + assembleHostFacts. */
import { describe, expect, it } from 'vitest';
import { assembleHostFacts } from '../../../src/facts/host/assemble.js';
import { factsFingerprint } from '../../../src/facts/host/fingerprint.js';
import { factsSectionKeys } from '../../../src/facts/host/script.js';
import { parseBatch } from '../../../src/transport/shell.js';
import { cases, expectErrors } from './fixtures.js';

const NONCE = '5ad0c3e1f2b49788';

interface Expect {
  connectedAddress: string;
  facts: object;
  pci: Record<string, object>;
  pciCount: number;
  hostNeeds: Record<string, string[]>;
  files?: Record<string, object>;
  noGrub?: boolean;
  evidenceIncludes?: string[];
  parseErrors: string[];
}

describe.each(cases<Expect>('batch'))('batch $name', ({ input, expected }) => {
  const sections = parseBatch(input, NONCE);
  const facts = assembleHostFacts(sections, { connectedAddress: expected.connectedAddress });

  it('holds every section of the script, and nothing forged', () => {
    expect([...sections.keys()]).toEqual(factsSectionKeys());
  });
  it('assembles the expected facts', () => {
    expect(facts).toMatchObject(expected.facts);
    expect(facts.pci).toHaveLength(expected.pciCount);
    for (const [bdf, want] of Object.entries(expected.pci)) expect(facts.pci.find((d) => d.address === bdf), bdf).toMatchObject(want);
    for (const [path, want] of Object.entries(expected.files ?? {})) expect(facts.files[path], path).toMatchObject(want);
    if (expected.noGrub) expect(facts.grub).toBeUndefined();
    for (const line of expected.evidenceIncludes ?? []) expect(facts.iommu.evidence).toContain(line);
  });
  it('finds what the host needs', () => {
    const kinds = Object.fromEntries(Object.entries(facts.hostNeeds).map(([bdf, rs]) => [bdf, [...new Set(rs.map((r) => r.kind))].sort()]));
    expect(kinds).toEqual(expected.hostNeeds);
  });
  it('reports exactly the expected parse problems', () => {
    expect(expectErrors(facts.parseErrors, expected.parseErrors)).toBeNull();
  });
  it('serialises to JSON and back unchanged, with a stable fingerprint', () => {
    const copy = JSON.parse(JSON.stringify(facts)) as typeof facts;
    expect(copy).toEqual(facts);
    expect(factsFingerprint(copy)).toBe(factsFingerprint(facts));
    expect(factsFingerprint(facts)).toMatch(/^[0-9a-f]{64}$/);
  });
});
