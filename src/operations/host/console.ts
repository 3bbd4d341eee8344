/**
 * The boot GPU (boot_vga = 1) by the node's choice, `console`:
 * - "headless": it may go to a VM; the plan says the host console goes dark
 *   after early boot (the management network is checked like for every
 *   device, so it cannot depend on this GPU);
 * - "keep" (default): allowed with a warning when the host has another
 *   display device that stays with it (the console moves there once its
 *   driver loads); refused, naming the setting, when it has none.
 * Either way the framebuffer token (framebuffer.ts) frees the firmware
 * framebuffer, and the GPU's driver is never blacklisted unless asked.
 */
import type { HostFacts, PciDevice } from '../../facts/host/types.js';
import type { Node } from '../../inventory/schema.js';
import type { Refusal, Warning } from '../types.js';
import { framebufferToken, isDisplay } from './framebuffer.js';

export function consoleDecision(node: Node, bootGpu: PciDevice, fns: readonly PciDevice[], facts: HostFacts, covered: ReadonlySet<string>): { refusal?: Refusal; warning?: Warning } {
  const subject = `device ${bootGpu.address}`;
  const token = framebufferToken(facts);
  if (node.console === 'headless') {
    return { warning: { subject, message: `the boot GPU goes to a VM ("console": "headless"): the host console goes dark after early boot (${token} frees the firmware framebuffer); manage node ${node.name} over SSH or the API` } };
  }
  const own = new Set(fns.map((f) => f.address));
  const other = facts.pci.find((p) => isDisplay(p) && !own.has(p.address) && !covered.has(p.address));
  if (other) {
    return { warning: { subject, message: `the boot GPU goes to a VM: the host console moves to ${other.address} (${other.driver ?? 'no driver yet'}) once its driver loads, and ${token} frees the firmware framebuffer` } };
  }
  return {
    refusal: {
      subject,
      reason: `it is the boot GPU (boot_vga = 1) and the host has no other display device: the host would lose its console`,
      fix: `set "console": "headless" on node ${node.name} to pass it through (the local screen goes dark after early boot; SSH and the API are unaffected), or add a second display device for the host`,
    },
  };
}
