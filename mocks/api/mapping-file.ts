/**
 * Cluster PCI mappings (mapping/pci.cfg): rendering, and the check a node
 * does against its hardware at VM start (pve-guest-common Mapping/PCI.pm
 * `assert_valid`).
 */
import { parsePropertyString } from './propstring.js';
import { MAPPING_ENTRY_FORMAT } from './rules.js';
import type { SimPciDevice } from './types.js';

export interface SimMapping {
  readonly id: string;
  map: string[];
  description?: string;
  mdev?: boolean;
  liveMigrationCapable?: boolean;
}

/** Section config text: `<id>` then tab-indented properties, one `map` line per entry. */
export function renderMappingFile(mappings: readonly SimMapping[]): string {
  let out = '';
  for (const m of mappings) {
    out += `${m.id}\n`;
    if (m.description !== undefined) out += `\tdescription ${m.description}\n`;
    if (m.liveMigrationCapable !== undefined) out += `\tlive-migration-capable ${m.liveMigrationCapable ? 1 : 0}\n`;
    for (const entry of m.map) out += `\tmap ${entry}\n`;
    if (m.mdev !== undefined) out += `\tmdev ${m.mdev ? 1 : 0}\n`;
    out += '\n';
  }
  return out;
}

export interface MappingEntry {
  readonly node: string;
  readonly path: string;
  readonly id: string;
  readonly 'subsystem-id'?: string;
  readonly iommugroup?: string;
  readonly description?: string;
}

/** Entries that parse; broken ones are skipped, as get_node_mapping does (with a warning). */
export function parseEntries(m: SimMapping): MappingEntry[] {
  const out: MappingEntry[] = [];
  for (const raw of m.map) {
    const parsed = parsePropertyString(MAPPING_ENTRY_FORMAT, raw);
    if (parsed.error === undefined) out.push(parsed.value as unknown as MappingEntry);
  }
  return out;
}

export const entriesForNode = (m: SimMapping, node: string): MappingEntry[] => parseEntries(m).filter((e) => e.node === node);

const strip0x = (s: string): string => s.replace(/0x/g, '');

/**
 * Throws the reason when an entry does not match the node's hardware: id,
 * subsystem-id and iommugroup must match and be present exactly when the
 * hardware has them; the IOMMU group is checked on the first path only.
 */
export function assertEntryValid(name: string, entry: MappingEntry, hardware: readonly SimPciDevice[], mdev: boolean | undefined): void {
  const paths = entry.path.split(';');
  paths.forEach((p, idx) => {
    const path = /\.[a-f0-9]$/i.test(p) ? p : `${p}.0`;
    const info = hardware.find((d) => d.id === path);
    if (!info) throw new Error(`pci device '${path}' not found`);
    const correct: Record<string, string | undefined> = {
      id: `${info.vendor}:${info.device}`,
      iommugroup: String(info.iommugroup),
      'subsystem-id': info.subsystem_vendor !== undefined && info.subsystem_device !== undefined
        ? `${info.subsystem_vendor}:${info.subsystem_device}` : undefined,
    };
    for (const prop of Object.keys(correct).sort()) {
      if (prop === 'iommugroup' && idx > 0) continue;
      const want = correct[prop];
      const have = entry[prop as keyof MappingEntry];
      if (want === undefined && have === undefined) continue;
      if (want !== undefined && have === undefined) throw new Error(`missing expected property '${prop}' for device '${path}'`);
      if (want === undefined && have !== undefined) throw new Error(`'${prop}' configured but should not be`);
      if (strip0x(want as string).toLowerCase() !== strip0x(have as string).toLowerCase()) {
        throw new Error(`'${prop}' does not match for '${name}' (${strip0x(want as string)} != ${strip0x(have as string)})`);
      }
    }
    if (idx === 0 && (mdev ?? false) !== (info.mdev === 1)) {
      throw new Error(`'mdev' does not match for '${name}' (${info.mdev === 1 ? 1 : 0} != ${mdev ? 1 : 0})`);
    }
  });
}

export interface MappingCheck {
  severity: 'warning' | 'error';
  message: string;
}

/** `checks` of GET /cluster/mapping/pci?check-node=… */
export function checkMappingOnNode(m: SimMapping, node: string, hardware: readonly SimPciDevice[]): MappingCheck[] {
  const entries = entriesForNode(m, node);
  if (entries.length === 0) return [{ severity: 'warning', message: `No mapping for node ${node}.` }];
  const checks: MappingCheck[] = [];
  for (const e of entries) {
    try {
      assertEntryValid(m.id, e, hardware, m.mdev);
    } catch (err) {
      checks.push({ severity: 'error', message: `Invalid configuration: ${(err as Error).message}` });
    }
  }
  return checks;
}
