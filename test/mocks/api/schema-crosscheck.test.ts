/**
 * mocks/api hand-codes PVE's parameter rules (it may not read the schema at
 * run time). This test holds them against the schema extract: same endpoints,
 * same parameters, same types, limits, enums and formats, and patterns that
 * accept and reject the same values.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { PropFormat, PropSchema } from '../../../mocks/api/propstring.js';
import { HOSTPCI_FORMAT, MACHINE_FORMAT, MAPPING_ENTRY_FORMAT } from '../../../mocks/api/rules.js';
import { ENDPOINTS, FREE_STRING_KEYS, type ParamSchema } from '../../../mocks/api/schema.js';

interface SchemaProp {
  type?: string;
  optional?: number;
  pattern?: string;
  enum?: string[];
  format?: string | Record<string, SchemaProp>;
  typetext?: string;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  items?: SchemaProp;
}
interface SchemaEndpoint {
  method: string;
  path: string;
  allowtoken: number;
  parameters: Record<string, SchemaProp>;
}

const file = fileURLToPath(new URL('../../fixtures/pve-schema/endpoints.json', import.meta.url));
const schema = (JSON.parse(readFileSync(file, 'utf8')) as { endpoints: SchemaEndpoint[] }).endpoints;

/** Perl `(?^:x)` → `(?:x)`; PVE anchors every pattern as ^(?:p)$. */
function perlRegExp(perl: string): RegExp {
  return new RegExp(`^(?:${perl.replace(/\(\?\^i?:/g, '(?:')})$`, perl.includes('(?^i:') ? 'i' : '');
}

/** Values that probe every hand-coded pattern from both sides. */
const SAMPLES = [
  '', 'x', '0', '1', '2', '01', 'pc', 'q35', 'virt', 'pc-q35-9.2', 'pc-q35-9.2+pve1', 'pc-i440fx-8.1', 'pc-8.1', 'pc-i440fx-8.1.pxe',
  'pc-q35-8', 'q36', 'virt-9.2', 'virt-9.2+pve1', 'virt+pve1', 'pc-q35-9.2+pve', 'pc-q35-10.0.1', 'PC-Q35-9.2', 'pc-i440fx-9.2+pve1.pxe',
  '0000:01:00.0', '0000:01:00', '01:00.0', '0000:01:00.0;0000:02:00.0', '0000:0A:00.0', '0000:01:00x0', '00000:01:00.1', '0000:01:00.',
  '0000:01:00.0;', '10de:2204', '10DE:2204', '0x10de:2204', '10de:22041', '10de-2204', 'ide0', 'scsi12', 'nvme0', 'sata', '/dev/parport0',
  '/dev/usb/lp2', '/dev/lp0', '/dev/ttyS0', 'socket', 'sockets', 'now', '2024-01-31', '2024-1-3T4:05:06', '2024-01-31 10:00', 'tomorrow',
  'cf1e5d3c-1b2a-4c3d-8e9f-0a1b2c3d4e5f', 'CF1E5D3C-1B2A-4C3D-8E9F-0A1B2C3D4E5F', 'cf1e5d3c1b2a', 'net0=1500', 'net0=1500,net1=9000',
  'net0=1500,', 'nic0=1500',
];

function expectSamePattern(where: string, mine: RegExp | undefined, perl: string | undefined): void {
  if (perl === undefined) {
    expect(mine, `${where}: the schema has no pattern`).toBeUndefined();
    return;
  }
  expect(mine, `${where}: pattern missing in mocks`).toBeDefined();
  const theirs = perlRegExp(perl);
  for (const s of SAMPLES) expect(mine?.test(s), `${where} on ${JSON.stringify(s)}`).toBe(theirs.test(s));
}

const NAMED_FORMATS_IMPLEMENTED = new Set(['pve-node', 'pve-vmid', 'pve-configid', 'pve-configid-list', 'dns-name', 'string-list']);

function compareScalar(where: string, mine: PropSchema, theirs: SchemaProp): void {
  expect(mine.type, `${where}: type`).toBe(theirs.type ?? 'string');
  expect(mine.enum ? [...mine.enum] : undefined, `${where}: enum`).toEqual(theirs.enum);
  expect(mine.minimum, `${where}: minimum`).toBe(theirs.minimum);
  expect(mine.maximum, `${where}: maximum`).toBe(theirs.maximum);
  expect(mine.maxLength, `${where}: maxLength`).toBe(theirs.maxLength);
  expectSamePattern(where, mine.pattern, theirs.pattern);
  const f = theirs.format;
  if (typeof f === 'string') {
    if (NAMED_FORMATS_IMPLEMENTED.has(f)) expect(mine.format, `${where}: format`).toBe(f);
    else if (f !== 'pve-qm-hostpci') expect(mine.format, `${where}: ${f} is not re-implemented`).toBeUndefined();
  }
}

function compareFormat(where: string, mine: PropFormat, theirs: Record<string, SchemaProp>, defaultKey?: string): void {
  const relevant = Object.keys(theirs).filter((k) => theirs[k]?.type !== undefined);
  expect(Object.keys(mine).sort(), `${where}: keys`).toEqual(relevant.sort());
  for (const key of relevant) {
    const m = mine[key] as PropSchema;
    const t = theirs[key] as SchemaProp;
    compareScalar(`${where}.${key}`, m, t);
    expect(m.optional ?? false, `${where}.${key}: optional`).toBe(t.optional === 1);
  }
  if (defaultKey) expect(mine[defaultKey]?.defaultKey, `${where}: default key`).toBe(true);
}

describe('hand-coded API rules vs the schema extract', () => {
  it('serve exactly the endpoints of the extract, with the same allowtoken', () => {
    const theirs = schema.map((e) => `${e.method} ${e.path} ${e.allowtoken}`).sort();
    const mine = ENDPOINTS.map((e) => `${e.method} ${e.path} ${e.allowtoken ? 1 : 0}`).sort();
    expect(mine).toEqual(theirs);
  });

  for (const endpoint of schema) {
    it(`${endpoint.method} ${endpoint.path}: same parameters and rules`, () => {
      const mine = ENDPOINTS.find((e) => e.method === endpoint.method && e.path === endpoint.path);
      expect(mine).toBeDefined();
      const params = mine?.params ?? {};
      expect(Object.keys(params).sort()).toEqual(Object.keys(endpoint.parameters).sort());
      for (const [name, theirs] of Object.entries(endpoint.parameters)) {
        const m = params[name] as ParamSchema;
        const where = `${endpoint.method} ${endpoint.path} ${name}`;
        expect(m.optional ?? false, `${where}: optional`).toBe(theirs.optional === 1);
        if (m.type === 'array') {
          expect(theirs.type).toBe('array');
          const itemFormat = theirs.items?.format;
          expect(typeof itemFormat).toBe('object');
          compareFormat(`${where}[]`, m.items.format as PropFormat, itemFormat as Record<string, SchemaProp>);
          continue;
        }
        compareScalar(where, m, theirs);
        if (typeof theirs.format === 'object') {
          if (name === 'machine') {
            expect(m.format).toBe(MACHINE_FORMAT);
            compareFormat(where, MACHINE_FORMAT, theirs.format, 'type');
          } else {
            expect(FREE_STRING_KEYS, `${where}: property-string format treated as a free string`).toContain(name);
          }
        }
      }
    });
  }

  it('hostpci: the same keys and driver values as the schema typetext', () => {
    const config = schema.find((e) => e.method === 'POST' && e.path === '/nodes/{node}/qemu/{vmid}/config');
    const typetext = config?.parameters['hostpci[n]']?.typetext ?? '';
    const keys = [...typetext.matchAll(/\[,?\[?([a-z-]+)=\]?/g)].map((m) => m[1] as string);
    expect(Object.keys(HOSTPCI_FORMAT).sort()).toEqual([...new Set(keys)].sort());
    expect(HOSTPCI_FORMAT.host?.defaultKey).toBe(true);
    expect(typetext).toContain('driver=<vfio|keep>');
    expect(HOSTPCI_FORMAT.driver?.enum).toEqual(['vfio', 'keep']);
  });

  it('the mapping entry format is the one both mapping endpoints use', () => {
    const post = ENDPOINTS.find((e) => e.method === 'POST' && e.path === '/cluster/mapping/pci')?.params.map;
    expect(post?.type === 'array' ? post.items.format : undefined).toBe(MAPPING_ENTRY_FORMAT);
  });
});
