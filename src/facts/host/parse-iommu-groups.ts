/**
 * IOMMU groups and units from sysfs listings:
 *   /sys/kernel/iommu_groups/<N>/devices/<DDDD:BB:SS.F>   (one line per device)
 *   /sys/class/iommu/<unit>                               (dmar0, ivhd0, …)
 */
import { PCI_ADDRESS } from '../../patterns.js';
import { parseGlobList } from './parse-glob-list.js';
import { excerpt, type Parsed } from './text.js';

const GROUP_LINE = /^\/sys\/kernel\/iommu_groups\/(\d{1,6})\/devices\/([^/]+)$/;

/** BDF -> group number. A device listed in two groups is an error (the first one is kept). */
export function parseIommuGroups(output: string): Parsed<Map<string, number>> {
  const listed = parseGlobList(output, '/sys/kernel/iommu_groups/');
  const errors = [...listed.errors];
  const groups = new Map<string, number>();
  for (const line of listed.value) {
    const m = GROUP_LINE.exec(line);
    const bdf = m?.[2]?.toLowerCase();
    if (!m || bdf === undefined || !PCI_ADDRESS.test(bdf)) {
      errors.push(`iommu-groups: unexpected entry ${excerpt(line)}`);
      continue;
    }
    const group = Number(m[1]);
    const seen = groups.get(bdf);
    if (seen !== undefined && seen !== group) {
      errors.push(`iommu-groups: ${bdf} is listed in groups ${seen} and ${group}`);
      continue;
    }
    groups.set(bdf, group);
  }
  return { value: groups, errors };
}

const UNIT = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Names under /sys/class/iommu (e.g. dmar0, dmar1, ivhd0), sorted. */
export function parseIommuUnits(output: string): Parsed<string[]> {
  const listed = parseGlobList(output, '/sys/class/iommu/');
  const errors = [...listed.errors];
  const units: string[] = [];
  for (const path of listed.value) {
    const name = path.slice('/sys/class/iommu/'.length);
    if (!UNIT.test(name)) {
      errors.push(`iommu-class: unexpected entry ${excerpt(path)}`);
      continue;
    }
    units.push(name);
  }
  return { value: [...new Set(units)].sort(), errors };
}

/** dmar* means Intel VT-d, ivhd* means AMD-Vi; anything else is not decisive. */
export function iommuKindFromUnits(units: readonly string[]): 'intel' | 'amd' | null {
  if (units.some((u) => u.startsWith('dmar'))) return 'intel';
  if (units.some((u) => u.startsWith('ivhd'))) return 'amd';
  return null;
}
