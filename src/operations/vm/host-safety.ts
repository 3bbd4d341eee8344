/**
 * The host side of a VM's devices. PVE binds every device a VM names (and its
 * whole IOMMU group) to vfio-pci when the VM starts, so a raw `hostpci` entry
 * or a mapping entry is checked with the node's facts exactly like a device
 * under the node's `devices` (src/operations/host/safety.ts), with the same
 * reasons and fixes. A device the node does not declare is refused with the
 * fix to declare it (docs/safety.md "One check for every path to a VM").
 * Mediated devices (`mdev`) stay with the host driver and are not checked.
 */
import type { Hostpci } from '../../formats/hostpci.js';
import { checkPassthroughTarget, checkSafety } from '../host/safety.js';
import type { Refusal } from '../types.js';
import type { VmHostContext } from './types.js';

export function hostSafetyRefusals(subject: string, key: string, entry: Hostpci, addresses: readonly string[], host: VmHostContext): Refusal[] {
  if (entry.mdev !== undefined || addresses.length === 0) return [];
  const via = entry.mapping !== undefined ? `mapping=${entry.mapping} on ${host.node.name}` : 'host';
  if (host.facts === null) {
    return [{
      subject,
      reason: `${key} (${via}): the facts of node ${host.node.name} could not be read${host.error ? ` (${host.error})` : ''}, so the host-safety check cannot run`,
      fix: `make node ${host.node.name} reachable over SSH, then plan again`,
    }];
  }
  const safety = checkSafety(host.node, host.facts);
  const out: Refusal[] = [];
  for (const address of addresses) {
    for (const r of checkPassthroughTarget(host.node, host.facts, { address }, { requireDeclared: true, safety })) {
      out.push({ subject, reason: `${key} (${via} ${address}): ${r.reason}`, ...(r.fix !== undefined ? { fix: r.fix } : {}) });
    }
  }
  return out;
}
