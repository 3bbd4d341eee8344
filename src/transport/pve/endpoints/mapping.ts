/** Cluster PCI resource mappings (/cluster/mapping/pci): read, create, update. */
import { seg, type PveCore } from '../core.js';
import { PciMappingShape, PciMappingsShape } from '../schemas.js';
import type { PciMappingInfo } from '../types.js';

export interface PciMappingFlags {
  readonly description?: string;
  readonly mdev?: boolean;
  readonly 'live-migration-capable'?: boolean;
}

/** Booleans go to the API as 1/0 (absent stays absent). */
function bit(v: boolean | undefined): string | undefined {
  return v === undefined ? undefined : v ? '1' : '0';
}

export function pciMappings(api: PveCore): Promise<PciMappingInfo[]> {
  return api.read('/cluster/mapping/pci', PciMappingsShape);
}

/** GET /cluster/mapping/pci/{id}: the answer carries no id of its own. */
export async function pciMapping(api: PveCore, id: string): Promise<PciMappingInfo> {
  return { id, ...(await api.read(`/cluster/mapping/pci/${seg(id)}`, PciMappingShape.omit({ id: true }))) };
}

export function createPciMapping(api: PveCore, m: PciMappingFlags & { id: string; map: readonly string[] }): Promise<void> {
  return api.write('POST', '/cluster/mapping/pci', {
    id: m.id, map: m.map, description: m.description, mdev: bit(m.mdev), 'live-migration-capable': bit(m['live-migration-capable']),
  }, { step: `create mapping ${m.id}` });
}

export function updatePciMapping(api: PveCore, id: string, m: PciMappingFlags & { map: readonly string[]; digest?: string }): Promise<void> {
  return api.write('PUT', `/cluster/mapping/pci/${seg(id)}`, {
    map: m.map, description: m.description, digest: m.digest, mdev: bit(m.mdev), 'live-migration-capable': bit(m['live-migration-capable']),
  }, { step: `update mapping ${id}` });
}
