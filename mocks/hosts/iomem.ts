/**
 * The physical address map the simulated kernel shows: each PCI function's
 * BARs (`/sys/bus/pci/devices/<bdf>/resource`, drivers/pci/pci-sysfs.c
 * resource_show: `0x%016llx 0x%016llx 0x%016llx` for BAR 0-5, the ROM, then
 * four bridge windows), and `/proc/iomem` (kernel/resource.c r_show: two
 * spaces per level, `%0*llx-%0*llx : name`, at least 8 digits).
 *
 * The firmware framebuffer: UEFI/VESA leaves one on the boot GPU (or the
 * profile's `firmware.framebuffer`). Kernels >= 5.15 register it through sysfb
 * as `BOOTFB` (CONFIG_SYSFB_SIMPLEFB, pve-kernel), older ones as `efifb` /
 * `vesafb`. It stays over that BAR unless `initcall_blacklist=sysfb_init`
 * (sysfb kernels) or `video=efifb:off` / `video=vesafb:off` (older kernels)
 * is on the command line, or the GPU's own display driver takes over (it
 * removes the conflicting framebuffer). vfio-pci does not: that is the
 * "BAR 1: can't reserve" case. Written from the outside: nothing of src/.
 */
import { cmdlineTokens, kernelAtLeast } from './kernel.js';
import type { PciSpec, ProfileData } from './profile-types.js';

export interface SimBar {
  readonly index: number;
  readonly start: bigint;
  readonly size: bigint;
  /** pci-sysfs flags: IORESOURCE_MEM 0x200, PREFETCH 0x2000, MEM_64 0x100000, IO 0x100. */
  readonly flags: bigint;
}

export interface SimFramebuffer {
  readonly address: string;
  readonly bar: number;
  readonly name: 'BOOTFB' | 'efifb' | 'vesafb';
}

const M = 0x100000n;
const MEM32 = 0x40200n;
const MEM64_PREF = 0x14220cn;
const IO = 0x40101n;

/** BAR shapes by vendor for display controllers; the framebuffer BAR first in `fb`. */
function shape(d: PciSpec): { bars: { index: number; size: bigint; flags: bigint }[]; fb: number } {
  if (d.classCode.startsWith('03')) {
    const vendor = d.id.slice(0, 4);
    if (vendor === '10de') return { fb: 1, bars: [{ index: 0, size: 16n * M, flags: MEM32 }, { index: 1, size: 256n * M, flags: MEM64_PREF }, { index: 3, size: 32n * M, flags: MEM64_PREF }, { index: 5, size: 0x80n, flags: IO }] };
    if (vendor === '1002') return { fb: 0, bars: [{ index: 0, size: 256n * M, flags: MEM64_PREF }, { index: 2, size: 2n * M, flags: MEM64_PREF }, { index: 4, size: 0x100n, flags: IO }, { index: 5, size: M, flags: MEM32 }] };
    if (vendor === '8086') return { fb: 2, bars: [{ index: 0, size: 16n * M, flags: 0x140204n }, { index: 2, size: 256n * M, flags: MEM64_PREF }, { index: 4, size: 0x40n, flags: IO }] };
    return { fb: 0, bars: [{ index: 0, size: 16n * M, flags: MEM32 }, { index: 1, size: 0x40000n, flags: MEM32 }, { index: 2, size: 0x80n, flags: IO }] };
  }
  return { fb: 0, bars: [{ index: 0, size: 0x20000n, flags: MEM32 }] };
}

/** Deterministic BAR addresses: 32-bit windows from 0x7c000000, 64-bit prefetchable from 0x40_0000_0000, I/O from 0x3000. */
export function barLayout(p: ProfileData): Map<string, SimBar[]> {
  const out = new Map<string, SimBar[]>();
  let low = 0x7c000000n;
  let high = 0x4000000000n;
  let io = 0x3000n;
  const align = (at: bigint, size: bigint): bigint => (at + size - 1n) / size * size;
  for (const d of p.pci) {
    if (d.classCode.startsWith('06') || d.classCode === '0806') continue;
    const bars: SimBar[] = [];
    for (const b of shape(d).bars) {
      if (b.flags === IO) {
        bars.push({ index: b.index, start: io, size: b.size, flags: b.flags });
        io += 0x1000n;
      } else if (b.flags & 0x100000n) {
        high = align(high, b.size);
        bars.push({ index: b.index, start: high, size: b.size, flags: b.flags });
        high += b.size;
      } else {
        low = align(low, b.size);
        bars.push({ index: b.index, start: low, size: b.size, flags: b.flags });
        low += b.size;
      }
    }
    out.set(d.address, bars);
  }
  return out;
}

/** The firmware framebuffer of a boot, or null when none is left over any BAR. */
export function bootFramebuffer(p: ProfileData, kernel: string, cmdline: string, drivers: ReadonlyMap<string, string | null>): SimFramebuffer | null {
  const address = p.firmware.framebuffer === undefined ? p.pci.find((d) => d.bootVga)?.address : p.firmware.framebuffer?.address;
  const spec = address ? p.pci.find((d) => d.address === address) : undefined;
  if (!spec) return null;
  const tokens = cmdlineTokens(cmdline);
  const sysfb = kernelAtLeast(kernel, 5, 15);
  const name = sysfb ? 'BOOTFB' : p.firmware.efi ? 'efifb' : 'vesafb';
  if (sysfb && tokens.includes('initcall_blacklist=sysfb_init')) return null;
  if (!sysfb && tokens.some((t) => t === `video=${name}:off`)) return null;
  const drv = drivers.get(spec.address) ?? null;
  if (drv !== null && drv === spec.driver && drv !== 'vfio-pci') return null; // the display driver took over
  return { address: spec.address, bar: shape(spec).fb, name };
}

const hex = (n: bigint, width = 8): string => n.toString(16).padStart(width, '0');

export function renderResource(bars: readonly SimBar[] | undefined): string {
  const lines: string[] = [];
  for (let i = 0; i < 13; i++) {
    const b = bars?.find((x) => x.index === i);
    lines.push(b ? `0x${hex(b.start, 16)} 0x${hex(b.start + b.size - 1n, 16)} 0x${hex(b.flags, 16)}` : `0x${hex(0n, 16)} 0x${hex(0n, 16)} 0x${hex(0n, 16)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** BOOTFB size: 1920x1080 at 32 bpp, page-rounded, as sysfb registers it. */
const FB_SIZE = 0x7e9000n;

export function renderIomem(p: ProfileData, layout: ReadonlyMap<string, readonly SimBar[]>, fb: SimFramebuffer | null, drivers: ReadonlyMap<string, string | null>): string {
  const lines = [
    '00000000-00000fff : Reserved',
    '00001000-0009ffff : System RAM',
    '000a0000-000fffff : Reserved',
    '  000a0000-000bffff : PCI Bus 0000:00',
    '  000f0000-000fffff : System ROM',
    '00100000-6fffffff : System RAM',
  ];
  const entries = (high: boolean): string[] => {
    const rows: { start: bigint; text: string[] }[] = [];
    for (const [address, bars] of layout) {
      const drv = drivers.get(address) ?? null;
      for (const b of bars) {
        if (b.flags === IO || Boolean(b.flags & 0x100000n) !== high) continue;
        const end = b.start + b.size - 1n;
        const text = [`  ${hex(b.start)}-${hex(end)} : ${address}`];
        if (fb && fb.address === address && fb.bar === b.index) text.push(`    ${hex(b.start)}-${hex(b.start + FB_SIZE - 1n)} : ${fb.name}`);
        else if (drv && drv !== 'vfio-pci') text.push(`    ${hex(b.start)}-${hex(end)} : ${drv}`);
        rows.push({ start: b.start, text });
      }
    }
    return rows.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0)).flatMap((r) => r.text);
  };
  lines.push('7c000000-bfffffff : PCI Bus 0000:00', ...entries(false));
  lines.push('fec00000-fec003ff : IOAPIC 0', 'fed00000-fed003ff : HPET 0', 'fee00000-fee00fff : Local APIC', '100000000-88fffffff : System RAM');
  lines.push('4000000000-7fffffffff : PCI Bus 0000:00', ...entries(true));
  return `${lines.join('\n')}\n`;
}
