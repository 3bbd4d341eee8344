/**
 * Kernel release comparison. Decisions use the kernel that boots NEXT
 * (facts.kernel.next), never the running one: the config written now is
 * read by that kernel. `6.8.12-9-pve` -> [6, 8].
 */

export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
}

export function parseKernelRelease(release: string): KernelVersion | null {
  const m = /^(\d{1,3})\.(\d{1,3})(?:[.-]|$)/.exec(release);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

/** true when `release` is older than major.minor; null when the release cannot be read. */
export function kernelBelow(release: string, major: number, minor: number): boolean | null {
  const v = parseKernelRelease(release);
  if (!v) return null;
  return v.major < major || (v.major === major && v.minor < minor);
}

/** vfio_virqfd was folded into vfio.ko in 6.2. */
export const VIRQFD_FOLDED = { major: 6, minor: 2 } as const;
/** The Proxmox kernel enables the Intel IOMMU by default from 6.8. */
export const INTEL_IOMMU_DEFAULT_ON = { major: 6, minor: 8 } as const;
