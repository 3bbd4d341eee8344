import { describe, expect, it } from 'vitest';
import { mapEntryEqual, parseMapEntry, serialiseMapEntry, type MapEntry } from '../../src/formats/mapping.js';
import { FormatError } from '../../src/formats/errors.js';
import { checkRequest } from '../helpers/pve-schema.js';
import { hex, hostile, lines, rng } from './fixtures.js';

describe('mapping entries', () => {
  it('parses realistic entries exactly', () => {
    expect(parseMapEntry('node=pve1,path=0000:01:00.0,id=10de:2204,subsystem-id=1043:87b3,iommugroup=14')).toEqual({
      node: 'pve1', path: ['0000:01:00.0'], id: '10de:2204', 'subsystem-id': '1043:87b3', iommugroup: 14,
    });
    expect(parseMapEntry('node=pve-a,path=0000:02:00.0;0000:03:00.0,id=1002:73bf').path).toEqual(['0000:02:00.0', '0000:03:00.0']);
    for (const value of lines('mapping', 'realistic.txt')) {
      expect(serialiseMapEntry(parseMapEntry(value)), value).toBe(value);
    }
  });

  it('parses edge entries (any key order, -1 group, "=" in a description, uppercase ids)', () => {
    for (const value of lines('mapping', 'edge.txt')) {
      const e = parseMapEntry(value);
      expect(parseMapEntry(serialiseMapEntry(e))).toEqual(e);
    }
    expect(parseMapEntry('node=pve1,path=00000:01:00.0,id=10de:2204,description=a=b').description).toBe('a=b');
    expect(mapEntryEqual('node=n1,path=0001:c1:00.7,id=ABCD:ef01', 'id=abcd:EF01,node=n1,path=0001:c1:00.7')).toBe(true);
    expect(mapEntryEqual('node=n1,path=0000:01:00.0,id=10de:2204,iommugroup=1', 'node=n1,path=0000:01:00.0,id=10de:2204')).toBe(false);
  });

  it('rejects hostile entries and names the bad part', () => {
    for (const [value, fragment] of hostile('mapping')) {
      expect(() => parseMapEntry(value), value).toThrow(FormatError);
      expect(() => parseMapEntry(value), value).toThrow(fragment);
    }
  });

  it('refuses to write a description that would break the property string', () => {
    const base: MapEntry = { node: 'pve1', path: ['0000:01:00.0'], id: '10de:2204' };
    expect(() => serialiseMapEntry({ ...base, description: 'a,id=ffff:ffff' })).toThrow(/description/);
    expect(() => serialiseMapEntry({ ...base, path: ['01:00.0'] })).toThrow(/domain/);
    expect(() => serialiseMapEntry({ ...base, id: '0x10de:0x2204' })).toThrow(/without 0x/);
  });

  it('property test: random entries round-trip and match the schema patterns', () => {
    const r = rng(7);
    for (let i = 0; i < 1000; i++) {
      const e: Record<string, unknown> = {
        node: r.pick(['pve1', 'pve-2', 'n', 'Node42']),
        path: Array.from({ length: 1 + r.int(2) }, () => `${hex(r, 4)}:${hex(r, 2)}:${hex(r, 2)}${r.bool() ? `.${r.int(8)}` : ''}`),
        id: `${hex(r, 4)}:${hex(r, 4)}`,
      };
      if (r.bool()) e['subsystem-id'] = `${hex(r, 4)}:${hex(r, 4)}`;
      if (r.bool()) e.iommugroup = r.int(200);
      if (r.int(3) === 0) e.description = r.pick(['GPU', 'RTX 3090 (slot 1)', 'a=b']);
      const text = serialiseMapEntry(e as unknown as MapEntry);
      expect(parseMapEntry(text)).toEqual(e);
      expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'gpu-a', map: [text] }), text).toEqual([]);
    }
  });
});
