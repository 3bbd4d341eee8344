/**
 * dmesg lines about the IOMMU and vfio (printed by the kernel's
 * drivers/iommu/intel/iommu.c, drivers/iommu/amd/init.c, drivers/vfio/). Evidence only:
 * the verdict on "IOMMU active" comes from /sys/class/iommu. Timestamps are
 * removed (they change between reads and must not move the facts fingerprint).
 *
 * Interrupt remapping:
 *   on:  `DMAR-IR: Enabled IRQ remapping in x2apic|xapic mode`, `AMD-Vi: Interrupt remapping enabled`
 *   off: `DMAR-IR: Failed to enable irq remapping`, vfio's `No interrupt remapping support`,
 *        `AMD-Vi: Interrupt remapping disabled`
 *   Both seen -> off (the safe reading: the operations then ask for an explicit opt-in).
 * Default domain: `iommu: Default domain type: Passthrough|Translated`.
 */
import { cleanEvidence, splitLines } from './text.js';

export const MAX_DMESG_EVIDENCE = 200;

export interface DmesgIommu {
  readonly interruptRemapping: boolean | null;
  readonly passthroughDomain: boolean | null;
  /** Relevant lines, timestamps removed, cleaned, at most MAX_DMESG_EVIDENCE (the first ones: boot-time lines matter most). */
  readonly evidence: readonly string[];
  /** `AMD-Vi: Unknown option - 'on'` etc.: a stale `amd_iommu=on`. */
  readonly unknownIommuOptions: readonly string[];
}

const RELEVANT = /DMAR|IOMMU|AMD-Vi|vfio|remapping/i;
const TIMESTAMP = /^\s*(?:<\d+>)?\s*\[\s*\d+(?:\.\d+)?\]\s?/;

export function parseDmesgIommu(output: string): DmesgIommu {
  const evidence: string[] = [];
  let irOn = false;
  let irOff = false;
  let passthroughDomain: boolean | null = null;
  const unknownIommuOptions: string[] = [];
  for (const raw of splitLines(output)) {
    const line = raw.replace(TIMESTAMP, '');
    if (!RELEVANT.test(line)) continue;
    if (/DMAR-IR: Enabled IRQ remapping/i.test(line) || /AMD-Vi: Interrupt remapping enabled/i.test(line)) irOn = true;
    if (/DMAR-IR: Failed to enable irq remapping/i.test(line) || /No interrupt remapping support/i.test(line) || /AMD-Vi: Interrupt remapping disabled/i.test(line)) irOff = true;
    const domain = /iommu: Default domain type: (Passthrough|Translated)/i.exec(line);
    if (domain?.[1]) passthroughDomain = domain[1].toLowerCase() === 'passthrough';
    const unknown = /(?:AMD-Vi|DMAR): Unknown option - '([^']{0,40})'/.exec(line);
    if (unknown?.[1] !== undefined && unknownIommuOptions.length < 10) unknownIommuOptions.push(unknown[1]);
    if (evidence.length < MAX_DMESG_EVIDENCE) evidence.push(cleanEvidence(line));
  }
  const interruptRemapping = irOff ? false : irOn ? true : null;
  return { interruptRemapping, passthroughDomain, evidence, unknownIommuOptions };
}
