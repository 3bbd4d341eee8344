/**
 * `grep -H . /sys/bus/pci/devices/*\/resource`: each device's resources, one
 * line each, `start end flags` as 0x%016llx (drivers/pci/pci-sysfs.c
 * `resource_show`). Line n (from 0) is BAR n for n < 6, then the ROM (6),
 * then bridge windows or SR-IOV BARs; unused ones are all zero.
 *   /sys/bus/pci/devices/0000:01:00.0/resource:0x00000000c0000000 0x00000000cfffffff 0x000000000014220c
 */
import { excerpt, splitLines, type Parsed } from './text.js';

export interface PciBar {
  /** 0..5 BARs, 6 the expansion ROM. */
  readonly index: number;
  /** Lowercase hex without 0x or leading zeros. */
  readonly start: string;
  readonly end: string;
}

const IORESOURCE_MEM = 0x200n;
const LINE = /^\/sys\/bus\/pci\/devices\/([0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7])\/resource:0x([0-9a-f]{1,16}) 0x([0-9a-f]{1,16}) 0x([0-9a-f]{1,16})$/;
const MAX_LINES_PER_DEVICE = 17; // 6 BARs, ROM, 6 SR-IOV BARs, 4 bridge windows

const norm = (hex: string): string => hex.replace(/^0+(?=.)/, '');

/** BDF -> its memory BARs and ROM that are in use (I/O ports and empty slots left out). */
export function parsePciResources(output: string): Parsed<ReadonlyMap<string, readonly PciBar[]>> {
  const out = new Map<string, PciBar[]>();
  const seen = new Map<string, number>();
  const errors: string[] = [];
  for (const raw of splitLines(output)) {
    const m = LINE.exec(raw);
    if (!m) {
      if (errors.length < 5) errors.push(`pci-resource: unexpected line ${excerpt(raw)}`);
      continue;
    }
    const [, bdf = '', s = '', e = '', f = ''] = m;
    const index = seen.get(bdf) ?? 0;
    seen.set(bdf, index + 1);
    if (index >= MAX_LINES_PER_DEVICE) {
      if (errors.length < 5) errors.push(`pci-resource: ${bdf} lists more than ${MAX_LINES_PER_DEVICE} resources`);
      continue;
    }
    if (index > 6) continue;
    const start = BigInt(`0x${s}`);
    const end = BigInt(`0x${e}`);
    if ((BigInt(`0x${f}`) & IORESOURCE_MEM) === 0n || end === 0n) continue;
    if (start > end) {
      if (errors.length < 5) errors.push(`pci-resource: ${bdf} resource ${index} ends before it starts`);
      continue;
    }
    const list = out.get(bdf) ?? [];
    list.push({ index, start: norm(s), end: norm(e) });
    out.set(bdf, list);
  }
  return { value: out, errors };
}
