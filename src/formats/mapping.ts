/**
 * Entries of a cluster PCI mapping's `map` array (pve-guest-common Mapping/PCI.pm):
 * `node=…,path=…,id=…[,subsystem-id=…][,iommugroup=…][,description=…]`.
 * Unlike hostpci `host`, the path needs the domain; ids are written without 0x.
 */
import { NODE_NAME } from '../patterns.js';
import { FormatError, show } from './errors.js';
import { assertPlainValue, propertyMap } from './property-string.js';

const F = 'mapping entry';

export interface MapEntry {
  readonly node: string;
  /** One or more full PCI ids with domain; `;`-joined ids are passed together. */
  readonly path: readonly string[];
  /** vendor:device, 4+4 hex, no 0x. */
  readonly id: string;
  readonly 'subsystem-id'?: string;
  readonly iommugroup?: number;
  readonly description?: string;
}

/** The schema's path pattern, anchored: the domain is required. */
export const MAP_PATH_ID = /^[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}(?:\.[a-f0-9])?$/;
export const MAP_PCI_ID = /^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$/;
const KNOWN = new Set(['node', 'path', 'id', 'subsystem-id', 'iommugroup', 'description']);

function checkPath(ids: readonly string[]): void {
  if (ids.length === 0) throw new FormatError(F, '"path" needs at least one PCI id');
  for (const id of ids) {
    if (!MAP_PATH_ID.test(id)) throw new FormatError(F, `path id ${show(id)} must be a lowercase PCI id with domain, e.g. "0000:01:00.0"`);
  }
}
function checkId(key: string, v: string): void {
  if (!MAP_PCI_ID.test(v)) throw new FormatError(F, `"${key}" must be vendor:device as 4+4 hex digits without 0x, got ${show(v)}`);
}
function checkNode(v: string): void {
  if (!NODE_NAME.test(v)) throw new FormatError(F, `"node" ${show(v)} is not a node name`);
}

export function parseMapEntry(text: string): MapEntry {
  const m = propertyMap(F, text, '', KNOWN);
  const node = m.get('node');
  const path = m.get('path');
  const id = m.get('id');
  if (node === undefined) throw new FormatError(F, `"node" is missing in ${show(text)}`);
  if (path === undefined) throw new FormatError(F, `"path" is missing in ${show(text)}`);
  if (id === undefined) throw new FormatError(F, `"id" is missing in ${show(text)}`);
  checkNode(node);
  const ids = path.split(';');
  checkPath(ids);
  checkId('id', id);
  const out: { -readonly [K in keyof MapEntry]: MapEntry[K] } = { node, path: ids, id };
  const sub = m.get('subsystem-id');
  if (sub !== undefined) {
    checkId('subsystem-id', sub);
    out['subsystem-id'] = sub;
  }
  const group = m.get('iommugroup');
  if (group !== undefined) {
    if (!/^-?\d+$/.test(group)) throw new FormatError(F, `"iommugroup" must be an integer, got ${show(group)}`);
    out.iommugroup = Number(group);
  }
  const desc = m.get('description');
  if (desc !== undefined) out.description = desc;
  return out;
}

export function serialiseMapEntry(e: MapEntry): string {
  checkNode(e.node);
  checkPath(e.path);
  checkId('id', e.id);
  const parts = [`node=${e.node}`, `path=${e.path.join(';')}`, `id=${e.id}`];
  if (e['subsystem-id'] !== undefined) {
    checkId('subsystem-id', e['subsystem-id']);
    parts.push(`subsystem-id=${e['subsystem-id']}`);
  }
  if (e.iommugroup !== undefined) {
    if (!Number.isInteger(e.iommugroup)) throw new FormatError(F, `"iommugroup" must be an integer`);
    parts.push(`iommugroup=${e.iommugroup}`);
  }
  if (e.description !== undefined) {
    assertPlainValue(F, 'description', e.description);
    parts.push(`description=${e.description}`);
  }
  return parts.join(',');
}

/** Equal as PVE checks them: ids case-insensitive, everything else exact. */
export function mapEntryEqual(a: MapEntry | string, b: MapEntry | string): boolean {
  const x = typeof a === 'string' ? parseMapEntry(a) : a;
  const y = typeof b === 'string' ? parseMapEntry(b) : b;
  return x.node === y.node && x.path.join(';') === y.path.join(';') && x.id.toLowerCase() === y.id.toLowerCase()
    && (x['subsystem-id']?.toLowerCase() ?? null) === (y['subsystem-id']?.toLowerCase() ?? null)
    && (x.iommugroup ?? null) === (y.iommugroup ?? null) && (x.description ?? null) === (y.description ?? null);
}
