import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleHostFacts } from '../../../src/facts/host/assemble.js';
import { factsFingerprint } from '../../../src/facts/host/fingerprint.js';
import { factsSectionKeys } from '../../../src/facts/host/script.js';
import { parseBatch, type SectionResult } from '../../../src/transport/shell.js';
import { FIXTURES } from './fixtures.js';

const NONCE = '5ad0c3e1f2b49788';
const load = (name: string): Map<string, SectionResult> => parseBatch(readFileSync(join(FIXTURES, 'batch', `${name}.txt`), 'utf8'), NONCE);
const withSection = (m: Map<string, SectionResult>, key: string, s: SectionResult): Map<string, SectionResult> => new Map(m).set(key, s);

/** Deterministic pseudo-random text (xorshift), so a failure reproduces. */
function garbage(seed: number, length: number): string {
  let x = seed || 1;
  let out = '';
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const c = (x >>> 0) % 40;
    out += c < 4 ? '\n' : c < 6 ? '\t' : c < 8 ? ':' : c < 9 ? '"' : c < 10 ? '\0' : String.fromCharCode(32 + ((x >>> 8) % 95));
  }
  return out;
}

describe('assembleHostFacts on broken input', () => {
  it('an empty output yields safe values and one error per missing section', () => {
    const f = assembleHostFacts(new Map());
    expect(f.pci).toEqual([]);
    expect(f.iommu.active).toBe(false);
    expect(f.bootLoader.kind).toBe('grub');
    for (const key of factsSectionKeys()) expect(f.parseErrors).toContain(`section ${key} is missing from the output`);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('never throws on garbage in every section (seed %i)', (seed) => {
    const m = new Map(factsSectionKeys().map((k, i) => [k, { output: garbage(seed * 1000 + i, 600), rc: (seed + i) % 3 }]));
    const f = assembleHostFacts(m);
    expect(f.parseErrors.length).toBeGreaterThan(0);
    expect(f.parseErrors.length).toBeLessThanOrEqual(101);
    expect(() => JSON.stringify(f)).not.toThrow();
  });

  it('caps over-long lines in files and still parses the rest', () => {
    const base = load('pve9-intel-grub-lvm');
    const long = `# ${'x'.repeat(70_000)}\nvfio\n`;
    const f = assembleHostFacts(withSection(base, 'file:/etc/modules', { output: long, rc: 0 }));
    expect(f.parseErrors).toContain('file:/etc/modules: line 1 is longer than 64 KiB (70002 characters); truncated');
    expect(f.modulesToLoad).toEqual([{ module: 'vfio', file: '/etc/modules', line: 2 }]);
  });
});

describe('assembleHostFacts variants of a real host', () => {
  const base = load('pve9-intel-grub-lvm');

  it('plain Debian: pveversion not found is not an error', () => {
    const f = assembleHostFacts(withSection(base, 'pveversion', { output: 'sh: 1: pveversion: not found\n', rc: 127 }));
    expect(f.pveVersion).toBeNull();
    expect(f.parseErrors).toEqual([]);
  });

  it('a failing pveversion is an error', () => {
    const f = assembleHostFacts(withSection(base, 'pveversion', { output: "Can't locate PVE/API2/APT.pm in @INC\n", rc: 2 }));
    expect(f.pveVersion).toBeNull();
    expect(f.parseErrors.join('\n')).toMatch(/pveversion exited with 2/);
  });

  it('Secure Boot GRUB on proxmox-boot-tool ESPs: GRUB, refreshed by proxmox-boot-tool', () => {
    const status = readFileSync(join(FIXTURES, 'pbt-status', 'secureboot-grub.txt'), 'utf8');
    let m = withSection(base, 'pbt-status', { output: status, rc: 0 });
    m = withSection(m, 'file:/etc/kernel/proxmox-boot-uuids', { output: '2C44-81F0\n2C45-0A1E\n', rc: 0 });
    const f = assembleHostFacts(m);
    expect(f.bootLoader).toMatchObject({ kind: 'grub', proxmoxBootTool: true, efi: true });
  });

  it('IOMMU off in firmware: not active, no table, kind from the CPU', () => {
    let m = withSection(base, 'iommu-class', { output: '/sys/class/iommu/*\n', rc: 0 });
    m = withSection(m, 'iommu-groups', { output: '/sys/kernel/iommu_groups/*/devices/*\n', rc: 0 });
    m = withSection(m, 'acpi-dmar', { output: '', rc: 1 });
    const f = assembleHostFacts(m);
    expect(f.iommu).toMatchObject({ active: false, kind: 'intel', units: [], firmwareTable: null });
    expect(f.pci.every((d) => d.iommuGroup === null)).toBe(true);
    expect(f.parseErrors).toEqual([]);
  });

  it('a device in an IOMMU group that lspci did not show is an error (isolation cannot be judged)', () => {
    const groups = `${base.get('iommu-groups')?.output ?? ''}/sys/kernel/iommu_groups/14/devices/0000:01:00.2\n`;
    const f = assembleHostFacts(withSection(base, 'iommu-groups', { output: groups, rc: 0 }));
    expect(f.parseErrors).toEqual(['IOMMU groups list devices lspci did not show: 0000:01:00.2']);
  });

  it('the connected address adds the NIC that holds it', () => {
    const f = assembleHostFacts(base, { connectedAddress: '192.168.10.21' });
    const g = assembleHostFacts(base, {});
    expect(f.hostNeeds['0000:03:00.0']?.map((r) => r.detail)).toContain('vmbr0 -> eno1 (holds 192.168.10.21, the address the tool connected to)');
    expect(g.hostNeeds['0000:03:00.0']?.map((r) => r.detail)).toEqual(['vmbr0 -> eno1 (default route)']);
  });
});

describe('factsFingerprint', () => {
  const base = load('pve9-amd-sdboot-zfs');
  const fp = (m: Map<string, SectionResult>) => factsFingerprint(assembleHostFacts(m));
  const modules = base.get('modules') as SectionResult;

  it('ignores the boot id, dmesg timestamps and /proc/modules order', () => {
    const reordered = modules.output.split('\n').filter(Boolean).reverse().join('\n') + '\n';
    let m = withSection(base, 'boot-id', { output: '00000000-1111-2222-3333-444444444444\n', rc: 0 });
    m = withSection(m, 'modules', { output: reordered, rc: 0 });
    m = withSection(m, 'dmesg', { output: (base.get('dmesg')?.output ?? '').replace(/\[\s*[\d.]+\]/g, '[ 99.999999]'), rc: 0 });
    expect(fp(m)).toBe(fp(base));
  });

  it.each([
    ['a driver change', 'lspci', (s: string) => s.replace('Kernel driver in use: vfio-pci', 'Kernel driver in use: amdgpu')],
    ['a config file change', 'file:/etc/kernel/cmdline', (s: string) => s.replace('iommu=pt', 'iommu=pt quiet')],
    ['a running cmdline change', 'proc-cmdline', (s: string) => s.replace(' iommu=pt', '')],
    ['a new kernel', 'kernels', (s: string) => `${s}/boot/vmlinuz-6.17.2-1-pve\n`],
  ])('changes on %s', (_, key, edit) => {
    const s = base.get(key) as SectionResult;
    expect(fp(withSection(base, key, { output: edit(s.output), rc: s.rc }))).not.toBe(fp(base));
  });

  it('does not depend on object key order', () => {
    const f = assembleHostFacts(base);
    const shuffled = Object.fromEntries(Object.entries(f).reverse()) as typeof f;
    expect(factsFingerprint(shuffled)).toBe(factsFingerprint(f));
  });
});
