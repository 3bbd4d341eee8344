import { describe, expect, it } from 'vitest';
import {
  hostIdsOverlap, hostpciEqual, hostpciIndex, isHostpciKey, normaliseHostId, parseHostpci, serialiseHostpci, type Hostpci,
} from '../../src/formats/hostpci.js';
import { FormatError } from '../../src/formats/errors.js';
import { checkRequest } from '../helpers/pve-schema.js';
import { hex, hostile, lines, rng } from './fixtures.js';

describe('hostpci parse', () => {
  it('reads the realistic values and writes them back to something equal', () => {
    for (const value of lines('hostpci', 'realistic.txt')) {
      const parsed = parseHostpci(value);
      expect(hostpciEqual(parseHostpci(serialiseHostpci(parsed)), parsed), value).toBe(true);
    }
  });

  it('reads the default key, combined ids and every sub-option', () => {
    expect(parseHostpci('0000:01:00,pcie=1,x-vga=1')).toEqual({ host: ['0000:01:00'], pcie: true, 'x-vga': true });
    expect(parseHostpci('host=0000:41:00,pcie=1')).toEqual({ host: ['0000:41:00'], pcie: true });
    expect(parseHostpci('0000:01:00.0;0000:02:00.0')).toEqual({ host: ['0000:01:00.0', '0000:02:00.0'] });
    expect(parseHostpci('mapping=gpu-a,pcie=1')).toEqual({ mapping: 'gpu-a', pcie: true });
    expect(parseHostpci('pcie=on,0000:01:00')).toEqual({ host: ['0000:01:00'], pcie: true });
    expect(parseHostpci('0000:0a:00.0,romfile=vbios-3090.rom,x-vga=1,pcie=1,rombar=0,legacy-igd=0,driver=keep,mdev=nvidia-1,vendor-id=0x10de,device-id=0x2204,sub-vendor-id=0x1043,sub-device-id=0x87b3'))
      .toEqual({
        host: ['0000:0a:00.0'], romfile: 'vbios-3090.rom', 'x-vga': true, pcie: true, rombar: false, 'legacy-igd': false,
        driver: 'keep', mdev: 'nvidia-1', 'vendor-id': '0x10de', 'device-id': '0x2204', 'sub-vendor-id': '0x1043', 'sub-device-id': '0x87b3',
      });
  });

  it('accepts every boolean spelling PVE accepts', () => {
    for (const [t, f] of [['1', '0'], ['on', 'off'], ['yes', 'no'], ['true', 'false'], ['TRUE', 'No']] as const) {
      expect(parseHostpci(`01:00,pcie=${t},rombar=${f}`)).toMatchObject({ pcie: true, rombar: false });
    }
  });

  it('parses every edge case', () => {
    for (const value of lines('hostpci', 'edge.txt')) expect(() => parseHostpci(value), value).not.toThrow();
  });

  it('rejects hostile values and names the bad part', () => {
    for (const [value, fragment] of hostile('hostpci')) {
      let err: unknown;
      try {
        parseHostpci(value);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(value)).toBeInstanceOf(FormatError);
      expect((err as Error).message, JSON.stringify(value)).toContain(fragment);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });
});

describe('hostpci serialise', () => {
  it('writes the host bare, then the rest sorted, booleans as 1/0', () => {
    expect(serialiseHostpci({ host: ['0000:01:00'], 'x-vga': true, pcie: true })).toBe('0000:01:00,pcie=1,x-vga=1');
    expect(serialiseHostpci({ mapping: 'gpu-a', rombar: false, pcie: true })).toBe('mapping=gpu-a,pcie=1,rombar=0');
    expect(serialiseHostpci({ host: ['0000:01:00.0', '0000:02:00.0'] })).toBe('0000:01:00.0;0000:02:00.0');
  });

  it('refuses what it could not write safely', () => {
    expect(() => serialiseHostpci({ host: ['0000:01:00'], romfile: 'a,pcie=0' })).toThrow(/romfile/);
    expect(() => serialiseHostpci({ host: ['0000:01:00'], mdev: 'x\nargs: y' })).toThrow(/mdev/);
    expect(() => serialiseHostpci({ host: ['0000:01:00'], mapping: 'gpu' })).toThrow(/exactly one/);
    expect(() => serialiseHostpci({})).toThrow(/exactly one/);
    expect(() => serialiseHostpci({ host: [] })).toThrow(/at least one/);
    expect(() => serialiseHostpci({ host: ['0000:01:00;evil'] })).toThrow(/host id/);
    expect(() => serialiseHostpci({ mapping: 'gpu', 'vendor-id': '0x1' })).toThrow(/vendor-id/);
  });
});

describe('hostpciEqual', () => {
  const equal: Array<[string, string]> = [
    ['01:00.0', '0000:01:00.0'],
    ['0000:01:00,pcie=on', 'host=0000:01:00,pcie=1'],
    ['0000:01:00,rombar=1,pcie=0,x-vga=0,driver=vfio,legacy-igd=no', '0000:01:00'],
    ['mapping=gpu,pcie=1,x-vga=1', 'x-vga=yes,pcie=true,mapping=gpu'],
    ['0000:01:00.0,vendor-id=0xABCD', '0000:01:00.0,vendor-id=0xabcd'],
    ['00000:01:00.0', '0000:01:00.0'],
  ];
  const different: Array<[string, string]> = [
    ['0000:01:00', '0000:01:00.0'],
    ['0001:01:00.0', '0000:01:00.0'],
    ['0000:01:00,pcie=1', '0000:01:00'],
    ['0000:01:00,rombar=0', '0000:01:00'],
    ['mapping=gpu', '0000:01:00'],
    ['mapping=gpu', 'mapping=gpu2'],
    ['0000:01:00,driver=keep', '0000:01:00'],
    ['0000:01:00.0;0000:02:00.0', '0000:02:00.0;0000:01:00.0'],
    ['0000:01:00,romfile=a.rom', '0000:01:00'],
  ];
  it.each(equal)('%s equals %s', (a, b) => {
    expect(hostpciEqual(a, b)).toBe(true);
    expect(hostpciEqual(b, a)).toBe(true);
  });
  it.each(different)('%s differs from %s', (a, b) => {
    expect(hostpciEqual(a, b)).toBe(false);
  });
});

describe('hostpci helpers', () => {
  it('knows the 16 keys', () => {
    expect(isHostpciKey('hostpci0')).toBe(true);
    expect(isHostpciKey('hostpci15')).toBe(true);
    expect(isHostpciKey('hostpci16')).toBe(false);
    expect(isHostpciKey('hostpci01')).toBe(false);
    expect(hostpciIndex('hostpci12')).toBe(12);
  });
  it('fills the domain and sees overlapping functions', () => {
    expect(normaliseHostId('01:00')).toBe('0000:01:00');
    expect(hostIdsOverlap('0000:01:00', '01:00.1')).toBe(true);
    expect(hostIdsOverlap('0000:01:00.0', '0000:01:00.1')).toBe(false);
    expect(hostIdsOverlap('0000:01:00', '0000:01:000')).toBe(false);
  });
});

function randomHostpci(r: ReturnType<typeof rng>): Hostpci {
  const h: Record<string, unknown> = {};
  if (r.bool()) {
    const ids = Array.from({ length: 1 + r.int(3) }, () => {
      const domain = r.pick(['', '0000:', `${hex(r, 4)}:`, `${hex(r, 5)}:`]);
      const fn = r.pick(['', `.${r.int(8)}`]);
      return `${domain}${hex(r, 2)}:${hex(r, 2)}${fn}`;
    });
    h.host = ids;
  } else {
    h.mapping = `${r.pick(['g', 'N', 'x'])}${r.pick(['pu', '_1', '-a', 'ic-vf-2', 'A'])}`;
  }
  for (const k of ['pcie', 'rombar', 'x-vga', 'legacy-igd']) if (r.bool()) h[k] = r.bool();
  if (r.bool()) h.romfile = r.pick(['vbios.rom', 'gpu-3090_v2.bin', 'a']);
  if (r.int(4) === 0) h.mdev = r.pick(['nvidia-563', 'i915-GVTg_V5_4']);
  if (r.bool()) h.driver = r.pick(['vfio', 'keep']);
  for (const k of ['vendor-id', 'device-id', 'sub-vendor-id', 'sub-device-id']) if (r.int(3) === 0) h[k] = `0x${hex(r, 4)}`;
  return h as Hostpci;
}

describe('hostpci property test', () => {
  it('parse(serialise(x)) deep-equals x and the schema accepts the value', () => {
    const r = rng(0x5eed);
    for (let i = 0; i < 1500; i++) {
      const x = randomHostpci(r);
      const text = serialiseHostpci(x);
      expect(parseHostpci(text), text).toEqual(x);
      expect(hostpciEqual(text, x)).toBe(true);
      expect(checkRequest('POST', '/nodes/pve1/qemu/101/config', { [`hostpci${i % 16}`]: text })).toEqual([]);
    }
  });
});
