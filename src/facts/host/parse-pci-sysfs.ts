/**
 * `grep -H . /sys/bus/pci/devices/*\/boot_vga /sys/bus/pci/devices/*\/driver_override`
 *   /sys/bus/pci/devices/0000:00:02.0/boot_vga:1
 *   /sys/bus/pci/devices/0000:01:00.0/driver_override:(null)
 */
import { MODULE_NAME } from '../../patterns.js';
import { parseGrepValues } from './parse-grep-tree.js';
import { excerpt, type Parsed } from './text.js';

export interface PciSysfs {
  readonly bootVga: ReadonlySet<string>;
  /** BDF -> override driver (entries with `(null)` are absent). */
  readonly driverOverride: ReadonlyMap<string, string>;
}

const PATH = /\/sys\/bus\/pci\/devices\/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\/(?:boot_vga|driver_override)/;

export function parsePciSysfs(output: string): Parsed<PciSysfs> {
  const parsed = parseGrepValues(output, PATH);
  const errors = parsed.errors.map((e) => `pci-sysfs: ${e}`);
  const bootVga = new Set<string>();
  const driverOverride = new Map<string, string>();
  for (const { path, value } of parsed.value) {
    const parts = path.split('/');
    const bdf = parts[5] ?? '';
    const attr = parts[6];
    const v = value.trim();
    if (attr === 'boot_vga') {
      if (v === '1') bootVga.add(bdf);
      else if (v !== '0') errors.push(`pci-sysfs: ${bdf} boot_vga is ${excerpt(v)}`);
    } else if (v !== '(null)') {
      if (MODULE_NAME.test(v)) driverOverride.set(bdf, v);
      else errors.push(`pci-sysfs: ${bdf} driver_override is ${excerpt(v)}`);
    }
  }
  return { value: { bootVga, driverOverride }, errors };
}
