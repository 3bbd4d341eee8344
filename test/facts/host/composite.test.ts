import { describe, expect, it } from 'vitest';
import { computeHostNeeds } from '../../../src/facts/host/host-needs.js';
import { evaluateGrub } from '../../../src/facts/host/grub-defaults.js';
import { parseGrepTree } from '../../../src/facts/host/parse-grep-tree.js';
import { parseBlockLinks, parseLsblk } from '../../../src/facts/host/parse-lsblk.js';
import { parseBondSlaves, parseBridgePorts, parseCorosyncNodes, parseDefaultRoutes, parseIpAddr, parseNetLinks } from '../../../src/facts/host/parse-net.js';
import { cases, expectErrors, parts } from './fixtures.js';

describe('GRUB defaults (sourced like grub-mkconfig)', () => {
  type E = { linuxDefault?: string | null; linux?: string | null; order?: string[]; assignments?: number; selfReferences?: string[]; errors: string[] };
  it.each(cases<E>('grub-default'))('$name', ({ input, expected }) => {
    const r = evaluateGrub(parts(input));
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    if (expected.linuxDefault !== undefined) expect(r.value.cmdlineLinuxDefault).toBe(expected.linuxDefault);
    if (expected.linux !== undefined) expect(r.value.cmdlineLinux).toBe(expected.linux);
    if (expected.order) expect(r.value.order).toEqual(expected.order);
    if (expected.assignments !== undefined) expect(r.value.assignments).toHaveLength(expected.assignments);
    if (expected.selfReferences) expect(r.value.assignments.filter((a) => a.selfReference).map((a) => a.file)).toEqual(expected.selfReferences);
  });

  it('records where each assignment starts', () => {
    const r = evaluateGrub(new Map([['/etc/default/grub', '# c\nGRUB_TIMEOUT=5\n\nGRUB_CMDLINE_LINUX_DEFAULT="a\nb"\nGRUB_CMDLINE_LINUX="c"\n']]));
    expect(r.value.assignments.map((a) => [a.name, a.line])).toEqual([
      ['GRUB_CMDLINE_LINUX_DEFAULT', 4],
      ['GRUB_CMDLINE_LINUX', 6],
    ]);
  });
});

describe('grep -r -H tree', () => {
  type E = { dir: string; known: string[]; files: Record<string, string>; binary: string[]; unreadable?: string[]; missing: boolean; errors: string[] };
  it.each(cases<E>('grep-tree'))('$name', ({ input, expected }) => {
    const r = parseGrepTree(input, expected.dir, expected.known);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(Object.fromEntries(r.value.files)).toEqual(expected.files);
    expect(r.value.binary).toEqual(expected.binary);
    if (expected.unreadable) expect(r.value.unreadable).toEqual(expected.unreadable);
    expect(r.value.missing).toBe(expected.missing);
  });
});

describe('network needs (bridges, bonds, VLANs, corosync)', () => {
  type E = { hostname: string; connectedAddress?: string; needs: Record<string, [string, string][]>; detailIncludes?: Record<string, string>; errors: string[] };
  it.each(cases<E>('net'))('$name', ({ input, expected }) => {
    const p = parts(input);
    const errors: string[] = [];
    const take = <T>(r: { value: T; errors: readonly string[] }): T => {
      errors.push(...r.errors);
      return r.value;
    };
    const ip = take(parseIpAddr(p.get('ip-addr') ?? ''));
    const corosync = p.get('/etc/pve/corosync.conf');
    const needs = take(
      computeHostNeeds({
        hostname: expected.hostname,
        ...(expected.connectedAddress ? { connectedAddress: expected.connectedAddress } : {}),
        topology: {
          ifacePci: take(parseNetLinks(p.get('net-links') ?? '')),
          bridgePorts: take(parseBridgePorts(p.get('bridge-ports') ?? '')),
          bondSlaves: take(parseBondSlaves(p.get('bond-slaves') ?? '')),
          vlanParents: ip.parents,
        },
        addresses: ip.addresses,
        defaultRouteIfaces: take(parseDefaultRoutes(p.get('ip-route') ?? '')),
        corosyncNodes: corosync === undefined ? [] : parseCorosyncNodes(corosync),
        blockDevs: [],
        blockLinks: new Map(),
        proxmoxBootTool: false,
        bootVga: [],
      }),
    );
    expect(expectErrors(errors, expected.errors)).toBeNull();
    const got = Object.fromEntries(
      Object.entries(needs).map(([bdf, reasons]) => [bdf, [...new Set(reasons.map((r) => `${r.kind}|${'iface' in r ? r.iface : ''}`))]]),
    );
    const want = Object.fromEntries(Object.entries(expected.needs).map(([bdf, rs]) => [bdf, rs.map(([k, i]) => `${k}|${i}`)]));
    expect(got).toEqual(want);
    for (const [bdf, text] of Object.entries(expected.detailIncludes ?? {})) {
      expect((needs[bdf] ?? []).map((r) => r.detail)).toContain(text);
    }
  });
});

describe('disk needs (lsblk + /sys/block links)', () => {
  type E = { pbt: boolean; needs: Record<string, string[]>; detailIncludes?: string[]; errors: string[] };
  it.each(cases<E>('lsblk'))('$name', ({ input, expected }) => {
    const p = parts(input);
    const devs = parseLsblk(p.get('lsblk') ?? '');
    const links = parseBlockLinks(p.get('block-links') ?? '');
    const needs = computeHostNeeds({
      hostname: 'pve',
      topology: { ifacePci: new Map(), bridgePorts: new Map(), bondSlaves: new Map(), vlanParents: new Map() },
      addresses: new Map(),
      defaultRouteIfaces: [],
      corosyncNodes: [],
      blockDevs: devs.value,
      blockLinks: links.value,
      proxmoxBootTool: expected.pbt,
      bootVga: [],
    });
    expect(expectErrors([...devs.errors, ...links.errors, ...needs.errors], expected.errors)).toBeNull();
    const kinds = Object.fromEntries(Object.entries(needs.value).map(([bdf, rs]) => [bdf, [...new Set(rs.map((r) => r.kind))].sort()]));
    expect(kinds).toEqual(expected.needs);
    const details = Object.values(needs.value).flat().map((r) => r.detail);
    for (const d of expected.detailIncludes ?? []) expect(details).toContain(d);
  });

  it('decodes lsblk \\xHH escapes', () => {
    const r = parseLsblk('NAME="sdz1" PKNAME="sdz" TYPE="part" FSTYPE="ext4" MOUNTPOINT="/srv/my\\x20data"\n');
    expect(r.value[0]?.mountpoint).toBe('/srv/my data');
  });
});
