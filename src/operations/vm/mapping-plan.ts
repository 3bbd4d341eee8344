/**
 * Cluster PCI mappings: build each declared mapping's `map` entries from the
 * nodes' /hardware/pci lists (ids without 0x, subsystem-id and iommugroup
 * exactly as the hardware reports them, since PVE checks them at VM start),
 * then diff against what the cluster has. Pure.
 */
import { mapEntryEqual, parseMapEntry, serialiseMapEntry, type MapEntry } from '../../formats/mapping.js';
import type { Mapping } from '../../inventory/schema.js';
import type { Refusal, Warning } from '../types.js';

/** The fields of a /nodes/{node}/hardware/pci item this needs. */
export interface HardwareDevice {
  readonly id: string;
  readonly vendor: string;
  readonly device: string;
  readonly subsystem_vendor?: string;
  readonly subsystem_device?: string;
  readonly iommugroup: number;
}

export interface ExistingMapping {
  readonly id: string;
  readonly map: readonly string[];
  readonly description?: string;
  readonly digest?: string;
}

export type MappingAction =
  | { readonly kind: 'create'; readonly id: string; readonly map: readonly string[]; readonly description?: string }
  | { readonly kind: 'update'; readonly id: string; readonly map: readonly string[]; readonly description?: string; readonly digest?: string; readonly before: readonly string[] }
  | { readonly kind: 'none'; readonly id: string; readonly map: readonly string[] };

export interface MappingPlan {
  readonly actions: readonly MappingAction[];
  readonly refused: readonly Refusal[];
  readonly warnings: readonly Warning[];
}

const strip0x = (h: string): string => h.replace(/^0x/i, '').toLowerCase();

/** One map entry for a device as the hardware reports it. */
export function mapEntryFor(node: string, dev: HardwareDevice): MapEntry {
  const entry: { -readonly [K in keyof MapEntry]: MapEntry[K] } = {
    node, path: [dev.id.toLowerCase()], id: `${strip0x(dev.vendor)}:${strip0x(dev.device)}`,
  };
  if (dev.subsystem_vendor !== undefined && dev.subsystem_device !== undefined) {
    entry['subsystem-id'] = `${strip0x(dev.subsystem_vendor)}:${strip0x(dev.subsystem_device)}`;
  }
  entry.iommugroup = dev.iommugroup;
  return entry;
}

function sameEntries(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const rest = [...b];
  for (const x of a) {
    const i = rest.findIndex((y) => {
      try {
        return mapEntryEqual(x, y);
      } catch {
        return false;
      }
    });
    if (i === -1) return false;
    rest.splice(i, 1);
  }
  return true;
}

export function planMappings(
  declared: readonly Mapping[],
  hardware: Readonly<Record<string, readonly HardwareDevice[]>>,
  existing: readonly ExistingMapping[],
): MappingPlan {
  const actions: MappingAction[] = [];
  const refused: Refusal[] = [];
  const warnings: Warning[] = [];
  for (const m of declared) {
    const subject = `mapping ${m.id}`;
    const map: string[] = [];
    let ok = true;
    for (const [node, address] of Object.entries(m.nodes).sort(([a], [b]) => a.localeCompare(b))) {
      const list = hardware[node];
      if (!list) {
        refused.push({ subject, reason: `no PCI device list from node ${node} (is it online?)` });
        ok = false;
        continue;
      }
      const dev = list.find((d) => d.id.toLowerCase() === address);
      if (!dev) {
        refused.push({ subject, reason: `node ${node} has no PCI device ${address}`, fix: 'check the address with `pve-passthrough devices`' });
        ok = false;
        continue;
      }
      if (dev.iommugroup === -1) warnings.push({ subject, message: `node ${node} reports no IOMMU group for ${address}: IOMMU is off there, so the mapped device cannot be passed through yet` });
      map.push(serialiseMapEntry(mapEntryFor(node, dev)));
    }
    if (!ok) continue;
    const cur = existing.find((e) => e.id === m.id);
    if (!cur) {
      actions.push({ kind: 'create', id: m.id, map, ...(m.description !== undefined ? { description: m.description } : {}) });
      continue;
    }
    for (const raw of cur.map) {
      try {
        const node = parseMapEntry(raw).node;
        if (!(node in m.nodes)) warnings.push({ subject, message: `the cluster mapping has an entry for node ${node}, which the inventory does not declare; it will be removed` });
      } catch {
        warnings.push({ subject, message: `the cluster mapping has an entry this tool cannot read; it will be replaced` });
      }
    }
    const descChanged = m.description !== undefined && m.description !== cur.description;
    if (sameEntries(map, cur.map) && !descChanged) {
      actions.push({ kind: 'none', id: m.id, map });
    } else {
      actions.push({
        kind: 'update', id: m.id, map, before: cur.map,
        ...(m.description !== undefined ? { description: m.description } : {}),
        ...(cur.digest !== undefined ? { digest: cur.digest } : {}),
      });
    }
  }
  return { actions, refused, warnings };
}
