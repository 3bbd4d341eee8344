/**
 * The firmware framebuffer and the boot GPU (issue 15 items 1 and 2).
 *
 * - Which token frees the framebuffer on the next boot: from /proc/iomem
 *   when the next kernel is the running one and a framebuffer is listed
 *   (`BOOTFB`/simplefb → `initcall_blacklist=sysfb_init`, `efifb` →
 *   `video=efifb:off`, `vesafb` → `video=vesafb:off`); otherwise from the
 *   next kernel: >= 5.15 registers it through sysfb/simpledrm (pve-kernel
 *   builds CONFIG_SYSFB_SIMPLEFB and CONFIG_DRM_SIMPLEDRM since 5.15), older
 *   ones through efifb (UEFI) or vesafb (BIOS).
 * - The token is wanted while a planned device has a display function that
 *   is the boot GPU or whose BAR a framebuffer holds; once the tool added it
 *   for a display function it stays while one is declared (after the reboot
 *   the claim is gone, which must not take the token away again).
 * - `video=efifb:off` / `video=vesafb:off` on a sysfb kernel do nothing:
 *   warned, with the token that works.
 * Pure.
 */
import type { FramebufferClaim, HostFacts, PciDevice } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import type { Warning } from '../types.js';
import { splitCmdline } from './cmdline-tokens.js';
import { functionsOf } from './driver-binding.js';
import { kernelBelow } from './kernel-version.js';

export const SYSFB_TOKEN = 'initcall_blacklist=sysfb_init';
const LEGACY_TOKENS = ['video=efifb:off', 'video=vesafb:off'] as const;

export const isDisplay = (p: PciDevice): boolean => p.classCode.startsWith('03');

const BY_NAME: Readonly<Record<string, string>> = {
  BOOTFB: SYSFB_TOKEN, simplefb: SYSFB_TOKEN, 'simple-framebuffer': SYSFB_TOKEN, simpledrm: SYSFB_TOKEN,
  efifb: 'video=efifb:off', vesafb: 'video=vesafb:off',
};

/** The kernel parameter that frees the firmware framebuffer at the next boot. */
export function framebufferToken(facts: HostFacts): string {
  if (facts.kernel.next === facts.kernel.running) {
    for (const c of facts.framebuffer.claims) if (BY_NAME[c.name]) return BY_NAME[c.name]!;
  }
  if (kernelBelow(facts.kernel.next, 5, 15) === false) return SYSFB_TOKEN;
  return facts.bootLoader.efi ? 'video=efifb:off' : 'video=vesafb:off';
}

/** Framebuffer ranges over a BAR of this function. */
export function claimsOn(facts: HostFacts, address: string): FramebufferClaim[] {
  return facts.framebuffer.claims.filter((c) => c.address === address);
}

/** The display functions of the planned devices that need the framebuffer freed (boot GPU, or a BAR held). */
export function framebufferTargets(devices: readonly Device[], facts: HostFacts): PciDevice[] {
  return devices.flatMap((d) => functionsOf(d, facts)).filter((f) => isDisplay(f) && (f.bootVga || claimsOn(facts, f.address).length > 0));
}

/** The token to add for these planned devices, or null. `owned`: tokens the tool already added. */
export function wantedFramebufferToken(devices: readonly Device[], facts: HostFacts, owned: readonly string[]): string | null {
  const token = framebufferToken(facts);
  if (framebufferTargets(devices, facts).length > 0) return token;
  const displays = devices.flatMap((d) => functionsOf(d, facts)).some(isDisplay);
  return displays && owned.includes(token) ? token : null;
}

/** `video=efifb:off` / `video=vesafb:off` asked for or in use where they do nothing. */
export function ineffectiveFramebufferTokens(node: Node, facts: HostFacts, configured: readonly string[]): Warning[] {
  if (framebufferToken(facts) !== SYSFB_TOKEN) return [];
  const seen = new Set([...node.kernelParams, ...configured, ...splitCmdline(facts.procCmdline)]);
  return LEGACY_TOKENS.filter((t) => seen.has(t)).map((t) => ({
    subject: `kernel parameter ${t}`,
    message: `does nothing on kernel ${facts.kernel.next}: the firmware framebuffer is registered through sysfb/simpledrm (BOOTFB in /proc/iomem), not ${t.slice(6, -4)}; ${SYSFB_TOKEN} is what frees it`,
  }));
}
