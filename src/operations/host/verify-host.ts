/**
 * verifyHost: read-only checks of a node against its declaration, each with
 * a stable id, pass/fail/na, a message and the evidence line it rests on.
 *
 *   iommu-active          /sys/class/iommu has units (what qemu-server checks)
 *   interrupt-remapping   dmesg says remapping is on (or the operator allowed unsafe interrupts)
 *   cmdline-token:<tok>   the token is in /proc/cmdline (running, not just configured)
 *   vfio-modules          vfio, vfio_iommu_type1, vfio_pci in /proc/modules
 *   device-bound:<bdf>    every passed function has driver vfio-pci, or none
 *   group-isolated:<bdf>  no other endpoint in the IOMMU group (functions of the slot, bridges and declared devices are fine)
 *   sibling-kept:<bdf>    an undeclared twin (same vendor:device) kept its host driver
 *   framebuffer-free:<bdf> no BOOTFB/efifb/vesafb range of /proc/iomem lies on a BAR of a passed display function
 *   vfio-disable-vga      (when a device sets disableVga) the next boot loads vfio-pci with disable_vga=1
 *                         (configured command line, else the effective modprobe.d options)
 *   vfio-disable-vga-running  (same) the loaded vfio-pci runs with it (/sys/module/vfio_pci/parameters/
 *                         disable_vga; na while vfio-pci is not loaded); both in disable-vga.ts
 *   config-applied        the effective persistent configuration (the operator's files and the
 *                         tool's alike, read by the facts models) already holds the declaration:
 *                         planHost would produce no steps. Whether the tool's own files exist is
 *                         not a check: a host configured by hand is compliant.
 *   reboot-pending        configured state equals the running one (fail = a reboot is pending)
 *   modules-load-ok       systemd-modules-load.service has not failed
 * `na` when a check does not apply (e.g. no devices declared).
 */
import type { HostFacts, PciDevice } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import type { Check, HostStep, Refusal } from '../types.js';
import { splitCmdline } from './cmdline-tokens.js';
import { coveredAddresses, findPci, functionsOf, slotOf, twinsOf } from './driver-binding.js';
import { keepCurrentHost } from './keep-current.js';
import { configuredCmdline, desiredCmdlineTokens, ownedCmdlineTokens } from './kernel-cmdline.js';
import { installOf, modprobeConfigFrom, normalizeModule, vfioPciIds } from '../../facts/host/modprobe-d.js';
import { disableVgaChecks, disableVgaReloadReason } from './disable-vga.js';
import { modulesToLoadFrom } from '../../facts/host/modules-load-d.js';
import { planHost } from './plan-host.js';
import { claimsOn, framebufferToken, isDisplay } from './framebuffer.js';
import { checkSafety, groupIntruders, plannedDevices } from './safety.js';
import { VFIO_MODULES } from './vfio-modules.js';
import { haMaintenanceCheck } from './ha-maintenance.js';

const MAX_EVIDENCE = 400;
const clip = (s: string) => (s.length > MAX_EVIDENCE ? `${s.slice(0, MAX_EVIDENCE)}…` : s);

function driverLine(p: PciDevice): string {
  return `${p.address} [${p.id}] ${p.driver ? `Kernel driver in use: ${p.driver}` : 'no kernel driver in use'}`;
}

/** Functions the effective modprobe configuration binds to vfio-pci at boot: by id, or pinned by an install command kmod runs. */
function configuredForVfio(facts: HostFacts, p: PciDevice): boolean {
  const cfg = modprobeConfigFrom(facts.files).value;
  if (vfioPciIds(cfg).value.ids.includes(p.id)) return true;
  return cfg.installs.some((i) => installOf(cfg, i.module) === i && i.command.includes(`/sys/bus/pci/devices/${p.address}/driver_override`));
}

/** Owned files edited by hand (see owned-seal.ts), for the config-applied message. */
function handEdits(ws: readonly { subject: string; message: string }[]): string {
  const files = ws.filter((w) => w.subject.startsWith('file ') && w.message.startsWith('edited by hand')).map((w) => w.subject.slice(5));
  return files.length ? `; edited by hand since pve-passthrough wrote it: ${files.join(', ')}` : '';
}

function describeStep(s: HostStep): string {
  if ('path' in s) return `${s.kind} ${s.path}`;
  if (s.kind === 'refresh') return s.command;
  return s.kind === 'live-bind' ? `live-bind ${s.address}` : s.kind;
}

export function rebootPendingReasons(node: Node, facts: HostFacts): string[] {
  const reasons: string[] = [];
  const running = new Set(splitCmdline(facts.procCmdline));
  const configured = configuredCmdline(facts);
  if (configured) {
    const conf = new Set(configured);
    const want = desiredCmdlineTokens(node, facts, plannedDevices(node, facts)).tokens;
    // The tokens the tool itself may write are always compared: a removed one may still be running.
    for (const t of new Set([...want, ...ownedCmdlineTokens(facts), 'intel_iommu=on', 'iommu=pt'])) {
      if (conf.has(t) && !running.has(t)) reasons.push(`cmdline token ${t} is configured but missing from /proc/cmdline`);
      if (!conf.has(t) && running.has(t) && !want.includes(t)) reasons.push(`cmdline token ${t} is running but no longer configured`);
    }
  }
  const loaded = new Set(facts.modulesLoaded.map(normalizeModule));
  const toLoad = modulesToLoadFrom(facts.files, facts.readsEtcModules ?? true).value.map((m) => m.module);
  const notLoaded = [...new Set(toLoad.filter((m) => (VFIO_MODULES as readonly string[]).includes(normalizeModule(m)) && !loaded.has(normalizeModule(m))))];
  if (notLoaded.length) reasons.push(`configured to load but not loaded: ${notLoaded.join(', ')}`);
  const vga = disableVgaReloadReason(node.devices, facts);
  if (vga) reasons.push(vga);
  // Declared devices only: how an operator's own config for other devices plays out at boot is theirs to judge.
  const declared = coveredAddresses(node.devices, facts);
  for (const p of facts.pci) {
    if (declared.has(p.address) && p.driver && p.driver !== 'vfio-pci' && configuredForVfio(facts, p)) reasons.push(`device ${p.address} is configured for vfio-pci but bound to ${p.driver}`);
  }
  return reasons;
}

/** The IOMMU and interrupt remapping as the running kernel has them. */
function iommuChecks(node: Node, facts: HostFacts): Check[] {
  const hasDevices = node.devices.length > 0;
  const units = facts.iommu.units.join(' ');
  const active: Check = facts.iommu.active
    ? { id: 'iommu-active', status: 'pass', message: `IOMMU active (${facts.iommu.units.length} unit(s))`, evidence: `/sys/class/iommu: ${units}` }
    : { id: 'iommu-active', status: hasDevices ? 'fail' : 'na', message: facts.iommu.firmwareTable ? `IOMMU not active although the firmware has ${facts.iommu.firmwareTable}` : 'IOMMU off in the firmware (no DMAR/IVRS table)', evidence: '/sys/class/iommu is empty' };
  const ir = facts.iommu.interruptRemapping;
  const irEvidence = facts.iommu.evidence.find((l) => /DMAR-IR|AMD-Vi: Interrupt remapping|remapping/i.test(l));
  const remapping: Check = !hasDevices
    ? { id: 'interrupt-remapping', status: 'na', message: 'no devices declared' }
    : ir === true
      ? { id: 'interrupt-remapping', status: 'pass', message: 'interrupt remapping enabled', ...(irEvidence ? { evidence: clip(irEvidence) } : {}) }
      : ir === false
        ? { id: 'interrupt-remapping', status: node.allowUnsafeInterrupts ? 'pass' : 'fail', message: node.allowUnsafeInterrupts ? 'interrupt remapping absent; allow_unsafe_interrupts opted in' : 'interrupt remapping absent', ...(irEvidence ? { evidence: clip(irEvidence) } : {}) }
        : { id: 'interrupt-remapping', status: 'na', message: 'no dmesg evidence either way' };
  return [active, remapping];
}

/** Every wanted kernel parameter on the running command line, and the vfio modules loaded. */
function runningKernelChecks(node: Node, facts: HostFacts): Check[] {
  const checks: Check[] = [];
  const running = splitCmdline(facts.procCmdline);
  for (const t of desiredCmdlineTokens(node, facts, plannedDevices(node, facts)).tokens) {
    const ok = running.includes(t);
    checks.push({ id: `cmdline-token:${t}`, status: ok ? 'pass' : 'fail', message: ok ? `${t} is on the running command line` : `${t} missing from /proc/cmdline`, evidence: clip(facts.procCmdline.trim()) });
  }
  const loaded = new Set(facts.modulesLoaded.map(normalizeModule));
  const missingMods = VFIO_MODULES.filter((m) => !loaded.has(m));
  checks.push(node.devices.length === 0
    ? { id: 'vfio-modules', status: 'na', message: 'no devices declared' }
    : { id: 'vfio-modules', status: missingMods.length ? 'fail' : 'pass', message: missingMods.length ? `not loaded: ${missingMods.join(', ')}` : 'vfio modules loaded', evidence: `/proc/modules: ${facts.modulesLoaded.filter((m) => m.startsWith('vfio')).join(' ') || '(no vfio modules)'}` });
  return checks;
}

/** Each function of the device bound to vfio-pci (or to nothing yet). */
function boundChecks(d: Device, fns: readonly PciDevice[], refusal: Refusal | undefined): Check[] {
  const checks: Check[] = [];
  if (fns.length === 0) checks.push({ id: `device-bound:${d.address}`, status: 'fail', message: 'device not found in lspci' });
  for (const f of fns) {
    const ok = f.driver === null || f.driver === 'vfio-pci';
    checks.push({
      id: `device-bound:${f.address}`,
      status: ok ? 'pass' : 'fail',
      message: ok ? (f.driver ? 'bound to vfio-pci' : 'no driver bound (PVE binds vfio-pci at VM start)') : `bound to ${f.driver}${refusal ? ` (refused: ${refusal.reason})` : ''}`,
      evidence: clip(driverLine(f)),
    });
  }
  return checks;
}

/** The device's IOMMU group holds nothing but this slot, bridges or declared devices. */
function groupCheck(d: Device, facts: HostFacts, covered: ReadonlySet<string>): Check {
  const own = findPci(facts, d.address);
  if (!own || own.iommuGroup === null) {
    return { id: `group-isolated:${d.address}`, status: own && facts.iommu.active ? 'fail' : 'na', message: own ? 'no IOMMU group' : 'device not found' };
  }
  const intruders = groupIntruders(d, facts, covered);
  const members = facts.pci.filter((p) => p.iommuGroup === own.iommuGroup).map((p) => p.address);
  return {
    id: `group-isolated:${d.address}`,
    status: intruders.length ? 'fail' : 'pass',
    message: intruders.length ? `IOMMU group ${own.iommuGroup} also holds ${intruders.map((p) => p.address).join(', ')}` : `IOMMU group ${own.iommuGroup} holds only this slot (${slotOf(d.address)}), bridges or declared devices`,
    evidence: clip(`/sys/kernel/iommu_groups/${own.iommuGroup}/devices: ${members.join(' ')}`),
  };
}

/** No firmware framebuffer holds the BARs of a display function (or of one something claims). */
function framebufferChecks(fns: readonly PciDevice[], facts: HostFacts): Check[] {
  const checks: Check[] = [];
  for (const f of fns) {
    const claims = claimsOn(facts, f.address);
    if (!isDisplay(f) && claims.length === 0) continue;
    const id = `framebuffer-free:${f.address}`;
    if (facts.framebuffer.hidden) {
      checks.push({ id, status: 'na', message: '/proc/iomem showed no addresses (read without CAP_SYS_ADMIN)' });
    } else if (claims.length) {
      const c = claims[0]!;
      checks.push({ id, status: 'fail', message: `BAR ${c.bar} of ${f.address} is held by ${c.name}: the VM will fail to start (BAR ${c.bar}: can't reserve); ${framebufferToken(facts)} frees it at the next boot`, evidence: `/proc/iomem: ${c.start}-${c.end} : ${c.name}` });
    } else {
      checks.push({ id, status: 'pass', message: 'no firmware framebuffer holds its BARs', evidence: `/proc/iomem: ${facts.framebuffer.claims.map((c) => `${c.start}-${c.end} : ${c.name}`).join(', ') || 'no BOOTFB/efifb/vesafb/simplefb range'}` });
    }
  }
  return checks;
}

/** Undeclared twins of the device kept their own driver. */
function twinChecks(d: Device, facts: HostFacts, covered: ReadonlySet<string>): Check[] {
  return twinsOf(d, facts, covered).map((t): Check => {
    const status = t.driver === 'vfio-pci' ? 'fail' : t.driver === null ? 'na' : 'pass';
    return {
      id: `sibling-kept:${t.address}`,
      status,
      message: status === 'fail' ? `undeclared twin of ${d.address} was taken by vfio-pci` : status === 'na' ? 'undeclared twin has no driver bound (nothing to keep)' : `undeclared twin kept ${t.driver}`,
      evidence: clip(driverLine(t)),
    };
  });
}

/** Per declared device: bound, isolated, framebuffer free, twins kept. */
function deviceChecks(node: Node, facts: HostFacts): Check[] {
  const safety = checkSafety(node, facts);
  const covered = coveredAddresses(node.devices, facts);
  return node.devices.flatMap((d) => {
    const fns = functionsOf(d, facts);
    const refusal = safety.deviceRefusals.find((r) => r.subject === `device ${d.address}`);
    return [...boundChecks(d, fns, refusal), groupCheck(d, facts, covered), ...framebufferChecks(fns, facts), ...twinChecks(d, facts, covered)];
  });
}

/** The persistent configuration matches the declaration, and nothing waits for a reboot. */
function configurationChecks(node: Node, facts: HostFacts): Check[] {
  const plan = planHost(node, facts);
  const blocked = plan.steps.length === 0 && plan.refused.some((r) => r.subject.startsWith('node ') || r.subject.startsWith('file '));
  const applied: Check = blocked
    ? { id: 'config-applied', status: 'fail', message: `cannot be planned: ${plan.refused.map((r) => r.reason).join('; ')}` }
    : plan.steps.length === 0
      ? { id: 'config-applied', status: 'pass', message: 'persistent configuration matches the declaration' }
      : { id: 'config-applied', status: 'fail', message: `${plan.steps.length} step(s) pending${handEdits(plan.warnings)}`, evidence: clip(plan.steps.map(describeStep).join(', ')) };
  const pending = rebootPendingReasons(node, facts);
  return [applied, { id: 'reboot-pending', status: pending.length ? 'fail' : 'pass', message: pending.length ? pending.join('; ') : 'running state matches the configuration', evidence: `boot_id ${facts.bootId}` }];
}

/** `o.runId`: set by apply's own verification (see haMaintenanceCheck). */
export function verifyHost(declared: Node, facts: HostFacts, o: { readonly runId?: string } = {}): Check[] {
  // The same resolution as planHost: with exact: false, what the host keeps is checked too.
  const node = keepCurrentHost(declared, facts).node;
  const failedLoad = facts.failedUnits.find((u) => u === 'systemd-modules-load.service' || u === 'systemd-modules-load');
  return [
    ...iommuChecks(node, facts),
    ...runningKernelChecks(node, facts),
    ...deviceChecks(node, facts),
    ...disableVgaChecks(node, facts),
    ...configurationChecks(node, facts),
    { id: 'modules-load-ok', status: failedLoad ? 'fail' : 'pass', message: failedLoad ? 'systemd-modules-load.service failed (a listed module does not exist?)' : 'systemd-modules-load.service did not fail', evidence: `systemctl --failed: ${facts.failedUnits.join(' ') || '(none)'}` },
    haMaintenanceCheck(facts, node.name, o.runId),
  ];
}
