/** `grep -m 1 '^vendor_id' /proc/cpuinfo` -> CPU vendor. */
import type { CpuVendor } from './types.js';

export function parseCpuVendor(output: string): CpuVendor {
  const m = /^vendor_id\s*:\s*(\S+)/m.exec(output);
  switch (m?.[1]) {
    case 'GenuineIntel':
      return 'intel';
    case 'AuthenticAMD':
    case 'HygonGenuine': // Hygon Dhyana: an AMD Zen licence, AMD-Vi IOMMU
      return 'amd';
    default:
      return 'unknown';
  }
}
