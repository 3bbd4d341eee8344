/**
 * Kernel release thresholds. Decisions use the kernel that boots NEXT
 * (facts.kernel.next), never the running one: the config written now is
 * read by that kernel. Releases are read by the one reader the facts use
 * (`kernelNumbers`, src/facts/host/parse-kernel.ts): `6.8.12-9-pve` -> [6, 8, 12, 9].
 */
import { kernelNumbers } from '../../facts/host/parse-kernel.js';

/** true when `release` is older than major.minor; null when the release cannot be read. */
export function kernelBelow(release: string, major: number, minor: number): boolean | null {
  const v = kernelNumbers(release);
  if (!v) return null;
  const [a = 0, b = 0] = v;
  return a < major || (a === major && b < minor);
}

/** vfio_virqfd was folded into vfio.ko in 6.2. */
export const VIRQFD_FOLDED = { major: 6, minor: 2 } as const;
/** The Proxmox kernel enables the Intel IOMMU by default from 6.8. */
export const INTEL_IOMMU_DEFAULT_ON = { major: 6, minor: 8 } as const;
