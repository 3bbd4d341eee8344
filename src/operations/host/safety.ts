/**
 * Pre-flight safety: fail closed. Node-level refusals stop every step for the
 * node; device refusals leave that device out of the desired state.
 *
 * Node level:
 * - facts.parseErrors non-empty (we cannot trust what we read);
 * - IOMMU off in firmware (no DMAR/IVRS table and /sys/class/iommu empty):
 *   no kernel parameter can fix that, so nothing changes;
 * - the next kernel's version cannot be read (module and cmdline rules hang on it);
 * - interrupt remapping known absent, unless allowUnsafeInterrupts (then a
 *   warning and `allow_unsafe_interrupts=1` in the modprobe file).
 * Device level:
 * - not in lspci; a bridge; hardware id differs from the declared `id`;
 * - it, a function of its slot, anything in its IOMMU group, or (with ids=
 *   binding) any device sharing its id is needed by the host;
 * - its IOMMU group holds another endpoint that is not a function of the
 *   same slot, not a bridge and not declared too, unless allowAcsOverride;
 * - it asks to blacklist the driver of the boot VGA device;
 * - ids= binding with an undeclared twin (see driver-binding.ts).
 * Warnings: not a PVE host; `amd_iommu=on` leftover; vendor quirks, a foreign driver_override.
 */
import type { HostFacts, HostNeedReason, PciDevice } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import type { Refusal, Warning } from '../types.js';
import { splitCmdline } from './cmdline-tokens.js';
import { type Binding, coveredAddresses, findPci, functionsOf, isRefusal, resolveBinding, slotOf } from './driver-binding.js';
import { kernelNumbers } from '../../facts/host/parse-kernel.js';
import { consoleDecision } from './console.js';
import { vendorWarnings } from './vendor-quirks.js';
import { normalizeModule } from '../../facts/host/modprobe-d.js';

export interface SafetyResult {
  /** Refusals that stop the node: no steps at all. */
  readonly nodeRefusals: readonly Refusal[];
  /** true when nothing may change on the node (node refusals, or IOMMU off in firmware). */
  readonly frozen: boolean;
  readonly deviceRefusals: readonly Refusal[];
  readonly refusedAddresses: ReadonlySet<string>;
  readonly bindings: ReadonlyMap<string, Binding>;
  readonly warnings: readonly Warning[];
  readonly unsafeInterrupts: boolean;
}

const NEED_LABEL: Record<HostNeedReason['kind'], string> = {
  'management-network': 'the management network',
  'cluster-network': 'the cluster (corosync) network',
  'root-disk': 'the root/boot disk',
  storage: 'storage',
  'boot-console': 'the boot console',
};

/**
 * What the host uses a device for, in words: the need, then the interface or
 * disk, and the evidence (bridge chain and route, mount point, pool).
 * e.g. "carries the management network (interface enp3s0: vmbr0 -> enp3s0 (default route))".
 */
export function describeHostNeeds(reasons: readonly HostNeedReason[]): string {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const r of reasons) {
    const key = `${r.kind}${'iface' in r ? `\0${r.iface}` : ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    parts.push(`${NEED_LABEL[r.kind]} (${'iface' in r ? `interface ${r.iface}: ` : ''}${r.detail})`);
  }
  return `carries ${parts.join(', ')}`;
}

export function firmwareIommuOff(facts: HostFacts): boolean {
  return !facts.iommu.active && facts.iommu.units.length === 0 && facts.iommu.firmwareTable === null;
}

/** Other endpoints in the device's IOMMU group that would go to the guest with it. */
export function groupIntruders(device: Device, facts: HostFacts, covered: ReadonlySet<string>): PciDevice[] {
  const own = findPci(facts, device.address);
  if (!own || own.iommuGroup === null) return [];
  const slot = slotOf(device.address);
  return facts.pci.filter((p) => p.iommuGroup === own.iommuGroup && p.address !== own.address
    && !p.isBridge && slotOf(p.address) !== slot && !covered.has(p.address));
}

export function checkNode(node: Node, facts: HostFacts): { refusals: Refusal[]; frozen: boolean; warnings: Warning[]; unsafeInterrupts: boolean } {
  const subject = `node ${node.name}`;
  const refusals: Refusal[] = [];
  const warnings: Warning[] = [];
  let frozen = false;
  let unsafeInterrupts = false;
  const hasDevices = node.devices.length > 0;
  if (facts.pveVersion === null) warnings.push({ subject, message: 'not PVE (pveversion missing), carrying on as plain Debian' });
  if (splitCmdline(facts.procCmdline).includes('amd_iommu=on')) {
    warnings.push({ subject, message: 'amd_iommu=on on the running command line is a harmless leftover (the option has no "on" value)' });
  }
  if (facts.parseErrors.length) {
    refusals.push({
      subject,
      reason: `facts could not be read cleanly (${facts.parseErrors.length} problem(s), first: ${facts.parseErrors[0]}); nothing is written on a host we cannot read`,
      fix: 'look at the host output with `pve-passthrough devices --debug`, fix or report it, then plan again',
    });
  }
  if (firmwareIommuOff(facts)) {
    frozen = true;
    const msg = 'the IOMMU is off in the firmware: no DMAR/IVRS ACPI table and /sys/class/iommu is empty; no kernel parameter can turn it on';
    if (hasDevices) refusals.push({ subject, reason: msg, fix: 'enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the BIOS/UEFI setup, boot, then plan again' });
    else warnings.push({ subject, message: `${msg}; changing nothing` });
  }
  if (kernelNumbers(facts.kernel.next) === null) {
    refusals.push({ subject, reason: `cannot read the version of the next kernel ${JSON.stringify(facts.kernel.next.slice(0, 60))}`, fix: 'check `proxmox-boot-tool kernel list` and the kernel pins' });
  }
  if (hasDevices && facts.iommu.interruptRemapping === false) {
    if (node.allowUnsafeInterrupts) {
      unsafeInterrupts = true;
      warnings.push({ subject, message: 'interrupt remapping is absent; allow_unsafe_interrupts=1 is set as asked (a guest could inject interrupts into the host)' });
    } else {
      refusals.push({
        subject,
        reason: 'interrupt remapping is absent (no DMAR-IR/AMD-Vi remapping line in dmesg); vfio refuses to attach devices without it',
        fix: 'enable interrupt remapping / x2APIC in the firmware, or set "allowUnsafeInterrupts": true if you accept the risk',
      });
    }
  } else if (hasDevices && facts.iommu.interruptRemapping === null && facts.iommu.active) {
    warnings.push({ subject, message: 'no dmesg evidence of interrupt remapping either way (ring buffer may have wrapped)' });
  }
  return { refusals, frozen: frozen || refusals.length > 0, warnings, unsafeInterrupts };
}

interface Findings {
  readonly refusals: Refusal[];
  readonly warnings: Warning[];
}

type PciFunction = HostFacts['pci'][number];

/**
 * Anything the host needs that would leave with this device: its functions,
 * its IOMMU group, and with an ids= binding every device sharing an id. One
 * entry per device: what the host uses it for and the first piece of evidence.
 * The boot GPU's console need is the console decision's, not this check's.
 */
function hostNeedsAtRisk(device: Device, pci: PciFunction, fns: readonly PciFunction[], idsBinding: boolean, facts: HostFacts, bootGpu: PciFunction | undefined): Refusal | null {
  const atRisk = new Map<string, string>();
  for (const f of fns) atRisk.set(f.address, 'a function of the device');
  if (pci.iommuGroup !== null) {
    for (const p of facts.pci) if (p.iommuGroup === pci.iommuGroup && !atRisk.has(p.address)) atRisk.set(p.address, `in its IOMMU group ${pci.iommuGroup}`);
  }
  if (idsBinding) {
    const ids = new Set(fns.map((f) => f.id));
    for (const p of facts.pci) if (ids.has(p.id) && !atRisk.has(p.address)) atRisk.set(p.address, `shares its vendor:device id (ids= binding)`);
  }
  const needs = [...atRisk].flatMap(([addr, how]) => {
    const reasons = (facts.hostNeeds[addr] ?? []).filter((r) => !(r.kind === 'boot-console' && addr === bootGpu?.address));
    return reasons.length === 0 ? [] : [`${addr} (${how}) ${describeHostNeeds(reasons)}`];
  });
  if (needs.length === 0) return null;
  return { subject: `device ${device.address}`, reason: `the host needs it: ${needs.join('; ')}`, fix: 'pick a device the host does not depend on, or move that function (network, disk, console) elsewhere first' };
}

/** Other devices in the device's IOMMU group: refused (or allowed with a warning by allowAcsOverride); no group yet is a warning. */
function checkIsolation(node: Node, device: Device, pci: PciFunction, facts: HostFacts, covered: ReadonlySet<string>, out: Findings): void {
  const subject = `device ${device.address}`;
  const intruders = groupIntruders(device, facts, covered);
  if (intruders.length === 0) {
    if (pci.iommuGroup === null) out.warnings.push({ subject, message: 'no IOMMU group yet (the IOMMU is not active): isolation is checked again after the reboot' });
    return;
  }
  // A member the host needs is named with that need, and never offered to the guest.
  const needed = intruders.filter((p) => (facts.hostNeeds[p.address] ?? []).length > 0);
  const list = intruders.map((p) => {
    const why = facts.hostNeeds[p.address] ?? [];
    return `${p.address} ${p.className} (${p.driver ?? 'no driver'})${why.length ? `, which ${describeHostNeeds(why)}` : ''}`;
  }).join(', ');
  if (node.allowAcsOverride) {
    out.warnings.push({ subject, message: `IOMMU group ${pci.iommuGroup} also holds ${list}; allowed by allowAcsOverride, and PVE binds the whole group to vfio-pci at VM start` });
    return;
  }
  out.refusals.push({
    subject,
    reason: `IOMMU group ${pci.iommuGroup} also holds ${list}; starting the VM would take those from the host`,
    fix: needed.length
      ? `${needed.map((p) => p.address).join(', ')} must stay with the host: put the device in a slot whose IOMMU group holds nothing the host needs (see \`pve-passthrough devices\`), or move that host function to another device first`
      : 'use another slot, declare those devices too, or set "allowAcsOverride": true with a pcie_acs_override kernel parameter',
  });
}

/** The device's own options: a blacklist that would take the boot console's driver, disableVga on a non-VGA device. */
function checkOptions(device: Device, pci: PciFunction, facts: HostFacts, givenConsole: string | null, out: Findings): void {
  const subject = `device ${device.address}`;
  for (const b of device.blacklist) {
    const vga = facts.pci.find((p) => p.bootVga && [p.driver, ...p.modules].some((m) => m !== null && normalizeModule(m) === normalizeModule(b)));
    if (vga && vga.address !== givenConsole) out.refusals.push({ subject, reason: `blacklisting ${b} would take the driver of the boot console GPU ${vga.address}`, fix: `remove ${b} from "blacklist" (softdep is the default and is enough)` });
  }
  if (device.disableVga && pci.classCode !== '0300') {
    out.refusals.push({ subject, reason: `"disableVga" applies to VGA-class devices only (class 0300; vfio-pci's disable_vga acts on nothing else), and ${device.address} is class ${pci.classCode} (${pci.className})`, fix: 'remove "disableVga" from this device (set it on the GPU\'s VGA function instead)' });
  }
}

/**
 * What changes for the functions now: vendor realities, a foreign
 * driver_override. (The driver vfio-pci takes a function from is said by the
 * plan, which knows whether that happens live or at the next boot: inUseWarnings in live-bind.ts.)
 */
function functionWarnings(fns: readonly PciFunction[]): Warning[] {
  const warnings = [...vendorWarnings(fns)];
  for (const f of fns) {
    if (f.driverOverride && f.driverOverride !== 'vfio-pci') warnings.push({ subject: `device ${f.address}`, message: `driver_override is ${f.driverOverride}` });
  }
  return warnings;
}

/** Reasons one device may not be given away; `covered` = addresses of the devices still planned. */
export function checkDevice(node: Node, device: Device, facts: HostFacts, covered: ReadonlySet<string>): { refusals: Refusal[]; warnings: Warning[]; binding: Binding | null } {
  const subject = `device ${device.address}`;
  const out: Findings = { refusals: [], warnings: [] };
  const pci = findPci(facts, device.address);
  if (!pci) {
    return { refusals: [{ subject, reason: 'not found in lspci on this host', fix: 'list the host\'s devices with `pve-passthrough devices` and correct the address' }], warnings: [], binding: null };
  }
  if (pci.isBridge) out.refusals.push({ subject, reason: `is a bridge/port (class ${pci.classCode}), not an endpoint`, fix: 'declare the endpoint behind it' });
  if (device.id !== undefined && device.id !== pci.id) {
    out.refusals.push({ subject, reason: `hardware says ${pci.id}, the inventory expects ${device.id}`, fix: 'the card moved or the address is wrong: check `pve-passthrough devices`' });
  }
  const fns = functionsOf(device, facts);
  const resolved = resolveBinding(device, facts, covered);
  const binding = isRefusal(resolved) ? null : resolved;
  if (isRefusal(resolved)) out.refusals.push(resolved);

  // The boot GPU among the device's own functions: allowed by the console setting (console.ts).
  const bootGpu = fns.find((f) => f.bootVga);
  const console = bootGpu ? consoleDecision(node, bootGpu, fns, facts, covered) : null;
  if (console?.refusal) out.refusals.push(console.refusal);
  if (console?.warning) out.warnings.push(console.warning);
  const givenConsole = console !== null && console.refusal === undefined ? bootGpu!.address : null;

  const needs = hostNeedsAtRisk(device, pci, fns, device.bind === 'ids' || binding?.mode === 'ids', facts, bootGpu);
  if (needs) out.refusals.push(needs);
  checkIsolation(node, device, pci, facts, covered, out);
  checkOptions(device, pci, facts, givenConsole, out);
  out.warnings.push(...functionWarnings(fns));
  return { ...out, binding };
}

/**
 * Runs the device checks until no new device is refused: leaving one device
 * out can turn its twin into an undeclared twin of another.
 */
export function checkSafety(node: Node, facts: HostFacts): SafetyResult {
  const n = checkNode(node, facts);
  const refused = new Map<string, Refusal[]>();
  let warnings: Warning[] = [];
  let bindings = new Map<string, Binding>();
  for (let round = 0; round <= node.devices.length; round++) {
    const covered = coveredAddresses(node.devices.filter((d) => !refused.has(d.address)), facts);
    warnings = [];
    bindings = new Map();
    let grew = false;
    for (const d of node.devices) {
      if (refused.has(d.address)) continue; // once refused, stays refused (fail closed)
      const r = checkDevice(node, d, facts, covered);
      warnings.push(...r.warnings);
      if (r.refusals.length) {
        refused.set(d.address, r.refusals);
        grew = true;
      } else if (r.binding) {
        bindings.set(d.address, r.binding);
      }
    }
    if (!grew) break;
  }
  return {
    nodeRefusals: n.refusals,
    frozen: n.frozen,
    deviceRefusals: node.devices.flatMap((d) => refused.get(d.address) ?? []),
    refusedAddresses: new Set(refused.keys()),
    bindings,
    warnings: [...n.warnings, ...warnings],
    unsafeInterrupts: n.unsafeInterrupts,
  };
}

/** The declared devices that pass the safety checks. */
export function plannedDevices(node: Node, facts: HostFacts): Device[] {
  const refused = checkSafety(node, facts).refusedAddresses;
  return node.devices.filter((d) => !refused.has(d.address));
}

/** A device that reaches a VM another way than the node's `devices`: a raw hostpci entry or a mapping entry. */
export interface PassthroughTarget {
  /** Full address; a slot without a function (`0000:01:00`) means every function. */
  readonly address: string;
}

/** `0000:01:00` → every function of the slot; `01:00.0` → domain 0000 added. */
export function targetDevice(address: string): Device {
  const full = /^[0-9a-f]{4}:/i.test(address) && address.split(':').length === 3 ? address.toLowerCase() : `0000:${address.toLowerCase()}`;
  const whole = !/\.[0-7]$/.test(full);
  return { address: whole ? `${full}.0` : full, allFunctions: whole, bind: 'auto', blacklist: [], disableVga: false };
}

/**
 * The host-safety check for a passthrough target outside the node's
 * `devices`, with the node's own facts and exactly the node-device checks
 * and wording (host needs, IOMMU group, boot console, twins):
 * - the node cannot be planned (facts unreadable, IOMMU off in firmware): refused with that reason;
 * - a function of a node device that was refused: that device's refusal;
 * - every function covered by a planned node device: fine;
 * - otherwise checkDevice's refusals; and with `requireDeclared` (VM entries)
 *   a device the node does not bind is refused with the fix to declare it,
 *   because the tool only takes devices to vfio-pci that it planned and checked.
 */
export function checkPassthroughTarget(node: Node, facts: HostFacts, target: PassthroughTarget, opts: { readonly requireDeclared: boolean; readonly safety?: SafetyResult }): Refusal[] {
  const safety = opts.safety ?? checkSafety(node, facts);
  const dev = targetDevice(target.address);
  const subject = `device ${dev.address}`;
  if (safety.frozen) {
    const why = safety.nodeRefusals.map((r) => r.reason).join('; ') || (firmwareIommuOff(facts) ? 'the IOMMU is off in the firmware' : 'the node is refused');
    const fix = safety.nodeRefusals.find((r) => r.fix)?.fix ?? 'enable VT-d (Intel) or AMD-Vi/IOMMU (AMD) in the BIOS/UEFI setup, boot, then plan again';
    return [{ subject, reason: `node ${node.name} cannot take passthrough devices: ${why}`, fix }];
  }
  const fns = functionsOf(dev, facts);
  const fnSet = new Set(fns.map((f) => f.address));
  for (const d of node.devices.filter((x) => safety.refusedAddresses.has(x.address))) {
    if ([...coveredAddresses([d], facts)].some((a) => fnSet.has(a))) return safety.deviceRefusals.filter((r) => r.subject === `device ${d.address}`);
  }
  const covered = coveredAddresses(node.devices.filter((d) => !safety.refusedAddresses.has(d.address)), facts);
  if (fns.length > 0 && fns.every((f) => covered.has(f.address))) return [];
  const r = checkDevice(node, dev, facts, new Set([...covered, ...fnSet]));
  if (r.refusals.length) return r.refusals;
  if (!opts.requireDeclared) return [];
  const missing = fns.filter((f) => !covered.has(f.address)).map((f) => f.address);
  return [{
    subject,
    reason: `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not under node ${node.name}'s "devices": pve-passthrough only gives a VM devices it bound to vfio-pci and checked on the host`,
    fix: `add { "address": "${dev.address}"${dev.allFunctions ? '' : ', "allFunctions": false'} } to node ${node.name}'s "devices"`,
  }];
}
