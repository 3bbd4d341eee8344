/**
 * Which firmware framebuffer (BOOTFB/efifb/vesafb/simplefb) sits on which PCI
 * BAR: every framebuffer range of /proc/iomem that overlaps a memory BAR from
 * /sys/bus/pci/devices/*\/resource. Pure.
 */
import type { Iomem } from './parse-iomem.js';
import { FRAMEBUFFER_NAMES } from './parse-iomem.js';
import type { PciBar } from './parse-pci-resource.js';
import type { FramebufferClaim } from './types.js';

const big = (hex: string): bigint => BigInt(`0x${hex}`);

export function framebufferClaims(iomem: Iomem, bars: ReadonlyMap<string, readonly PciBar[]>): FramebufferClaim[] {
  const claims: FramebufferClaim[] = [];
  for (const r of iomem.ranges) {
    if (!FRAMEBUFFER_NAMES.has(r.name)) continue;
    const hits: { address: string; bar: number }[] = [];
    for (const [address, list] of bars) {
      for (const b of list) if (big(r.start) <= big(b.end) && big(b.start) <= big(r.end)) hits.push({ address, bar: b.index });
    }
    if (hits.length === 0) claims.push({ name: r.name, start: r.start, end: r.end, address: null, bar: null });
    for (const h of hits.sort((a, b) => a.address.localeCompare(b.address) || a.bar - b.bar)) claims.push({ name: r.name, start: r.start, end: r.end, address: h.address, bar: h.bar });
  }
  return claims;
}
