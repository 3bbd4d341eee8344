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
  /** 1 when the device offers mediated devices. */
  readonly mdev?: number | boolean;
}

export interface ExistingMapping extends MappingFlags {
  readonly id: string;
  readonly map: readonly string[];
  readonly description?: string;
  readonly digest?: string;
}

/** The mapping-wide flags PVE stores beside `map`. */
export interface MappingFlags {
  readonly mdev?: boolean;
  readonly 'live-migration-capable'?: boolean;
}

export type MappingAction =
  | ({ readonly kind: 'create'; readonly id: string; readonly map: readonly string[]; readonly description?: string } & MappingFlags)
  | ({ readonly kind: 'update'; readonly id: string; readonly map: readonly string[]; readonly description?: string; readonly digest?: string; readonly before: readonly string[] } & MappingFlags)
  | { readonly kind: 'none'; readonly id: string; readonly map: readonly string[] };

export interface MappingPlan {
  readonly actions: readonly MappingAction[];
  readonly refused: readonly Refusal[];
  readonly warnings: readonly Warning[];
}

const strip0x = (h: string): string => h.replace(/^0x/i, '').toLowerCase();

/**
 * One map entry for a device as the hardware reports it. `path` may be the
 * whole device (`0000:01:00`, every function): PVE then checks the first
 * function's attributes, so `dev` is function 0.
 */
export function mapEntryFor(node: string, dev: HardwareDevice, path: string = dev.id.toLowerCase()): MapEntry {
  const entry: { -readonly [K in keyof MapEntry]: MapEntry[K] } = {
    node, path: [path], id: `${strip0x(dev.vendor)}:${strip0x(dev.device)}`,
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
  /**
   * iommuOff: a node whose IOMMU is off: "defer" (plan: written after the node is done) or "refuse" (apply: not written).
   * hardwareErrors: why a node's device list could not be read (a 403 names the privilege), by node.
   */
  opts: { readonly iommuOff: 'defer' | 'refuse'; readonly hardwareErrors?: Readonly<Record<string, string>> } = { iommuOff: 'refuse' },
): MappingPlan {
  const actions: MappingAction[] = [];
  const refused: Refusal[] = [];
  const warnings: Warning[] = [];
  for (const m of declared) {
    const subject = `mapping ${m.id}`;
    const entries = mapEntries(subject, m, hardware, opts);
    refused.push(...entries.refused);
    warnings.push(...entries.warnings);
    if (!entries.ok) continue;
    const a = actionFor(subject, m, entries.map, existing.find((e) => e.id === m.id));
    actions.push(a.action);
    warnings.push(...a.warnings);
  }
  return { actions, refused, warnings };
}

type MappingOptions = NonNullable<Parameters<typeof planMappings>[3]>;

/** The map entries of one declared mapping, from each node's hardware; `ok: false` when any entry is refused. */
function mapEntries(subject: string, m: Mapping, hardware: Readonly<Record<string, readonly HardwareDevice[]>>, opts: MappingOptions): { map: string[]; ok: boolean; refused: Refusal[]; warnings: Warning[] } {
  const map: string[] = [];
  const refused: Refusal[] = [];
  const warnings: Warning[] = [];
  let ok = true;
  for (const [node, value] of Object.entries(m.nodes).sort(([a], [b]) => a.localeCompare(b))) {
    const list = hardware[node];
    if (!list) {
      refused.push({ subject, reason: `no PCI device list from node ${node}: ${opts.hardwareErrors?.[node] ?? 'the node did not answer (is it online?)'}` });
      ok = false;
      continue;
    }
    for (const path of typeof value === 'string' ? [value] : value) {
      const first = /\.[0-7]$/.test(path) ? path : `${path}.0`;
      const dev = list.find((d) => d.id.toLowerCase() === first);
      if (!dev) {
        refused.push({ subject, reason: `node ${node} has no PCI device ${path}`, fix: 'check the address with `pve-passthrough devices`' });
        ok = false;
        continue;
      }
      if (dev.iommugroup === -1) {
        // PVE checks iommugroup at VM start: an entry written now would be wrong once the IOMMU is on.
        if (opts.iommuOff === 'defer') {
          warnings.push({ subject, message: `node ${node} reports no IOMMU group for ${path} (its IOMMU is off): the mapping is written after node ${node} is planned and has booted with the IOMMU on (apply does the nodes first and reads the hardware again)` });
        } else {
          refused.push({ subject, reason: `node ${node}'s IOMMU is off (no IOMMU group for ${path}); no mapping is written with iommugroup=-1`, fix: `plan and apply node ${node} first (it needs the IOMMU on), then apply again` });
          ok = false;
          continue;
        }
      }
      const hasMdev = dev.mdev === 1 || dev.mdev === true;
      if (m.mdev === true && !hasMdev) {
        refused.push({ subject, reason: `"mdev": true, but ${path} on node ${node} offers no mediated devices; PVE refuses the mapping at VM start`, fix: 'remove "mdev" or map a device with mediated-device support' });
        ok = false;
        continue;
      }
      if (m.mdev !== true && hasMdev) {
        warnings.push({ subject, message: `${path} on node ${node} offers mediated devices: PVE requires "mdev": true on the mapping to use it` });
      }
      map.push(serialiseMapEntry(mapEntryFor(node, dev, path)));
    }
  }
  return { map, ok, refused, warnings };
}

/** Create, update or leave the cluster's mapping, with a warning for each of its entries that goes away. */
function actionFor(subject: string, m: Mapping, map: string[], cur: ExistingMapping | undefined): { action: MappingAction; warnings: Warning[] } {
  const warnings: Warning[] = [];
  const flags: MappingFlags = {
    ...(m.mdev !== undefined ? { mdev: m.mdev } : {}),
    ...(m['live-migration-capable'] !== undefined ? { 'live-migration-capable': m['live-migration-capable'] } : {}),
  };
  if (!cur) return { action: { kind: 'create', id: m.id, map, ...(m.description !== undefined ? { description: m.description } : {}), ...flags }, warnings };
  for (const raw of cur.map) {
    try {
      const node = parseMapEntry(raw).node;
      if (!(node in m.nodes)) warnings.push({ subject, message: `the cluster mapping has an entry for node ${node}, which the inventory does not declare; it will be removed` });
    } catch {
      warnings.push({ subject, message: `the cluster mapping has an entry this tool cannot read; it will be replaced` });
    }
  }
  const descChanged = m.description !== undefined && m.description !== cur.description;
  const flagsChanged = (Object.keys(flags) as (keyof MappingFlags)[]).some((k) => flags[k] !== (cur[k] ?? false));
  if (sameEntries(map, cur.map) && !descChanged && !flagsChanged) return { action: { kind: 'none', id: m.id, map }, warnings };
  return {
    action: {
      kind: 'update', id: m.id, map, before: cur.map,
      ...(m.description !== undefined ? { description: m.description } : {}),
      ...(cur.digest !== undefined ? { digest: cur.digest } : {}),
      ...flags,
    },
    warnings,
  };
}
