/**
 * `cat /proc/iomem`: the physical address map, one resource a line, nested by
 * two spaces per level (kernel/resource.c `r_show`: `%*s%0*llx-%0*llx : %s`):
 *
 *   c0000000-fec7ffff : PCI Bus 0000:00
 *     c0000000-d1ffffff : PCI Bus 0000:01
 *       c0000000-cfffffff : 0000:01:00.0
 *         c0000000-c07e8fff : BOOTFB
 *
 * The firmware framebuffer shows up as `BOOTFB` (sysfb's simple-framebuffer,
 * driven by simpledrm/simplefb, kernels >= 5.15 on PVE), `efifb` or `vesafb`
 * (older kernels). While it is there, vfio-pci cannot reserve that part of
 * the GPU's BAR and the VM fails to start ("BAR 1: can't reserve [mem …]").
 * Readers without CAP_SYS_ADMIN see every address as zero (`hidden`).
 */
import { excerpt, splitLines, type Parsed } from './text.js';

export interface IomemRange {
  /** Lowercase hex without 0x or leading zeros ("c0000000"), so the facts stay JSON. */
  readonly start: string;
  readonly end: string;
  readonly name: string;
  /** Nesting level (0 = top). */
  readonly depth: number;
}

export interface Iomem {
  readonly ranges: readonly IomemRange[];
  /** Every range was 0-0: the addresses were hidden from the reader. */
  readonly hidden: boolean;
}

/** The names a firmware framebuffer registers under. */
export const FRAMEBUFFER_NAMES: ReadonlySet<string> = new Set(['BOOTFB', 'efifb', 'vesafb', 'simplefb', 'simple-framebuffer', 'simpledrm']);

const LINE = /^( *)([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) : (.{1,200})$/;

const norm = (hex: string): string => hex.toLowerCase().replace(/^0+(?=.)/, '');

export function parseIomem(output: string): Parsed<Iomem> {
  const ranges: IomemRange[] = [];
  const errors: string[] = [];
  for (const [i, raw] of splitLines(output).entries()) {
    if (raw.trim() === '') continue;
    const m = LINE.exec(raw);
    if (!m) {
      if (errors.length < 5) errors.push(`iomem: line ${i + 1} is not a resource line: ${excerpt(raw)}`);
      continue;
    }
    const [, indent = '', s = '', e = '', name = ''] = m;
    if (indent.length % 2 !== 0 || BigInt(`0x${s}`) > BigInt(`0x${e}`)) {
      if (errors.length < 5) errors.push(`iomem: line ${i + 1} is malformed: ${excerpt(raw)}`);
      continue;
    }
    if (/[\u0000-\u001f\u007f]/.test(name)) {
      if (errors.length < 5) errors.push(`iomem: line ${i + 1} has control characters in its name`);
      continue;
    }
    ranges.push({ start: norm(s), end: norm(e), name: name.trim(), depth: indent.length / 2 });
  }
  const hidden = ranges.length > 0 && ranges.every((r) => r.start === '0' && r.end === '0');
  return { value: { ranges: hidden ? [] : ranges, hidden }, errors };
}
