import { describe, expect, it } from 'vitest';
import { parseCpuVendor } from '../../../src/facts/host/parse-cpu.js';
import { parseDmesgIommu } from '../../../src/facts/host/parse-dmesg-iommu.js';
import { parseIommuGroups } from '../../../src/facts/host/parse-iommu-groups.js';
import { parseInstalledKernels } from '../../../src/facts/host/parse-kernel.js';
import { parseLspci } from '../../../src/facts/host/parse-lspci.js';
import { parseModulesLoad } from '../../../src/facts/host/modules-load-d.js';
import { parseModulesBuiltin } from '../../../src/facts/host/parse-modules-builtin.js';
import { parsePbtStatus } from '../../../src/facts/host/parse-pbt-status.js';
import { parseProcCmdline, tokenizeCmdline } from '../../../src/facts/host/parse-proc-cmdline.js';
import { parseStat } from '../../../src/facts/host/parse-stat.js';
import { parseVfioDisableVga } from '../../../src/facts/host/parse-vfio-disable-vga.js';
import { cases, expectErrors } from './fixtures.js';

describe('lspci -nnk -D', () => {
  it.each(cases<{ count: number; errors: string[]; devices: Record<string, object> }>('lspci'))('$name', ({ input, expected }) => {
    const r = parseLspci(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value).toHaveLength(expected.count);
    for (const [address, want] of Object.entries(expected.devices)) {
      expect(r.value.find((d) => d.address === address), address).toMatchObject(want);
    }
  });
});

describe('IOMMU groups', () => {
  it.each(cases<{ groups: Record<string, number>; size: number; errors: string[] }>('iommu-groups'))('$name', ({ input, expected }) => {
    const r = parseIommuGroups(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value.size).toBe(expected.size);
    for (const [bdf, g] of Object.entries(expected.groups)) expect(r.value.get(bdf), bdf).toBe(g);
  });
});

describe('proxmox-boot-tool status', () => {
  it.each(cases<{ rc: number; value: object; errors: string[]; evidenceIncludes?: string }>('pbt-status'))('$name', ({ input, expected }) => {
    const r = parsePbtStatus(input, expected.rc);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value).toMatchObject(expected.value);
    if (expected.evidenceIncludes) expect(r.value.evidence.join('\n')).toContain(expected.evidenceIncludes);
  });
});

describe('dmesg IOMMU evidence', () => {
  type E = { interruptRemapping: boolean | null; passthroughDomain: boolean | null; evidenceCount?: number; evidenceIncludes?: string[]; evidenceExcludes?: string[]; unknownIommuOptions?: string[] };
  it.each(cases<E>('dmesg-iommu'))('$name', ({ input, expected }) => {
    const r = parseDmesgIommu(input);
    expect(r.interruptRemapping).toBe(expected.interruptRemapping);
    expect(r.passthroughDomain).toBe(expected.passthroughDomain);
    if (expected.evidenceCount !== undefined) expect(r.evidence).toHaveLength(expected.evidenceCount);
    for (const line of expected.evidenceIncludes ?? []) expect(r.evidence).toContain(line);
    for (const line of expected.evidenceExcludes ?? []) expect(r.evidence).not.toContain(line);
    if (expected.unknownIommuOptions) expect(r.unknownIommuOptions).toEqual(expected.unknownIommuOptions);
    for (const line of r.evidence) {
      expect(line).not.toMatch(/^\[\s*\d/); // timestamps removed
      expect(line).not.toMatch(/[\u0000-\u001f]/);
    }
  });
});

describe('/proc/cmdline', () => {
  it.each(cases<{ tokens: string[]; errors: string[] }>('proc-cmdline'))('$name', ({ input, expected }) => {
    expect(parseProcCmdline(input)).toEqual(expected.tokens);
    expect(expectErrors(tokenizeCmdline(input).errors, expected.errors)).toBeNull();
  });
});

describe('modules to load', () => {
  it.each(cases<{ file: string; modules: string[]; errors: string[] }>('modules-load'))('$name', ({ input, expected }) => {
    const r = parseModulesLoad(expected.file, input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value.map((m) => m.module)).toEqual(expected.modules);
    for (const m of r.value) expect(m.file).toBe(expected.file);
  });
});

describe('stat -c %n %a %u %g', () => {
  it.each(cases<{ entries: Record<string, object>; size: number; errors: string[] }>('stat'))('$name', ({ input, expected }) => {
    const r = parseStat(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value.size).toBe(expected.size);
    for (const [path, want] of Object.entries(expected.entries)) expect(r.value.get(path), path).toMatchObject(want);
  });
});

describe('installed kernels', () => {
  it.each(cases<{ installed: string[]; newest: string | null; errors: string[] }>('kernel'))('$name', ({ input, expected }) => {
    const r = parseInstalledKernels(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value).toEqual(expected.installed);
    expect(r.value.at(-1) ?? null).toBe(expected.newest);
  });
});

describe('CPU vendor', () => {
  it.each(cases<{ vendor: string }>('cpu'))('$name', ({ input, expected }) => {
    expect(parseCpuVendor(input)).toBe(expected.vendor);
  });
});

describe('modules.builtin of every installed kernel (grep -H .)', () => {
  it.each(cases<{ value: Record<string, string[]>; errors: string[] }>('modules-builtin'))('$name', ({ input, expected }) => {
    const r = parseModulesBuiltin(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.errors).toHaveLength(expected.errors.length);
    expect(r.value).toEqual(expected.value);
  });
});

describe('vfio-pci\'s running disable_vga (cat /sys/module/vfio_pci/parameters/disable_vga)', () => {
  // value absent from the .json = unknown (the output was neither Y, N nor cat's "No such file").
  it.each(cases<{ rc: number; value?: boolean | null; errors: string[] }>('vfio-disable-vga'))('$name', ({ input, expected }) => {
    const r = parseVfioDisableVga(input, expected.rc);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.errors).toHaveLength(expected.errors.length);
    expect(r.value).toEqual(expected.value);
  });
});
