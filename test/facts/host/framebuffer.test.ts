/**
 * /proc/iomem and /sys/bus/pci/devices/*\/resource (issue 15 item 2), one
 * fixture folder per fact. Formats: kernel/resource.c r_show (two spaces per
 * nesting level, `start-end : name`), drivers/pci/pci-sysfs.c resource_show
 * (`0x%016llx 0x%016llx 0x%016llx` per resource, BARs 0-5 then the ROM).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { framebufferClaims } from '../../../src/facts/host/framebuffer.js';
import { FRAMEBUFFER_NAMES, parseIomem } from '../../../src/facts/host/parse-iomem.js';
import { parsePciResources } from '../../../src/facts/host/parse-pci-resource.js';
import { cases, expectErrors, FIXTURES } from './fixtures.js';

describe('/proc/iomem', () => {
  type E = { hidden: boolean; errors: string[]; count: number; includes: object[]; framebuffers: string[] };
  it.each(cases<E>('iomem'))('$name', ({ input, expected }) => {
    const r = parseIomem(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    expect(r.value.hidden).toBe(expected.hidden);
    expect(r.value.ranges).toHaveLength(expected.count);
    for (const want of expected.includes) expect(r.value.ranges).toContainEqual(want);
    expect(r.value.ranges.filter((x) => FRAMEBUFFER_NAMES.has(x.name)).map((x) => x.name)).toEqual(expected.framebuffers);
  });
});

describe('/sys/bus/pci/devices/*/resource', () => {
  type E = { errors: string[]; bars: Record<string, object[]> };
  it.each(cases<E>('pci-resource'))('$name', ({ input, expected }) => {
    const r = parsePciResources(input);
    expect(expectErrors(r.errors, expected.errors)).toBeNull();
    for (const [bdf, bars] of Object.entries(expected.bars)) expect(r.value.get(bdf) ?? [], bdf).toEqual(bars);
  });
});

describe('framebuffer claims: iomem ranges over BARs', () => {
  const read = (f: string) => readFileSync(join(FIXTURES, f), 'utf8');
  const bars = parsePciResources(read('pci-resource/gpu-nic-bridge.txt')).value;

  it('BOOTFB inside BAR 1 of the GPU is a claim on 0000:01:00.0 BAR 1 (the bridge window above it is not a BAR)', () => {
    const claims = framebufferClaims(parseIomem(read('iomem/pve9-bootfb-on-gpu.txt')).value, bars);
    expect(claims).toEqual([{ name: 'BOOTFB', start: '4000000000', end: '40007e8fff', address: '0000:01:00.0', bar: 1 }]);
  });
  it('after initcall_blacklist=sysfb_init: no claim', () => {
    expect(framebufferClaims(parseIomem(read('iomem/after-sysfb-blacklist.txt')).value, bars)).toEqual([]);
  });
  it('a framebuffer on no known BAR is still reported, with no device', () => {
    const claims = framebufferClaims(parseIomem(read('iomem/vesafb-legacy.txt')).value, bars);
    expect(claims).toEqual([{ name: 'vesafb', start: 'e0000000', end: 'e03fffff', address: null, bar: null }]);
  });
  it('hidden addresses (a reader without CAP_SYS_ADMIN) claim nothing and say so', () => {
    const iomem = parseIomem(read('iomem/hidden-non-root.txt')).value;
    expect(iomem.hidden).toBe(true);
    expect(framebufferClaims(iomem, bars)).toEqual([]);
  });
});
