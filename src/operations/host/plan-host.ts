/**
 * planHost: (desired node, host facts) -> steps, refusals, warnings, reboot reasons.
 *
 * - Safety first (safety.ts). A node-level refusal, an IOMMU that is off in
 *   the firmware, or a GRUB/cmdline refusal yields no steps at all.
 * - Refused devices are left out of the desired state; the others are planned.
 * - Steps: file writes/removals (cmdline, modules-load, /etc/modules fixes,
 *   modprobe), then the refresh commands (refresh.ts). The engine decides
 *   about the reboot from `rebootReasons`.
 * - Reboot reasons are computed on the configured state AFTER the steps:
 *   cmdline tokens that differ from /proc/cmdline, vfio modules configured
 *   but not loaded, declared functions still on a host driver, and devices
 *   still on vfio-pci whose binding this plan removes.
 * Applying the steps and rebooting makes the next plan empty.
 */
import type { HostFacts } from '../../facts/host/types.js';
import type { Node } from '../../inventory/schema.js';
import type { HostPlanResult, Warning } from '../types.js';
import { coveredAddresses, functionsOf } from './driver-binding.js';
import { planModprobe } from './driver-binding.js';
import { applyFileSteps, fileSteps } from './file-steps.js';
import { cmdlineRebootReasons, ownedCmdlineTokens, planKernelCmdline, renderLedger } from './kernel-cmdline.js';
import { MODPROBE_FILE } from './paths.js';
import { refreshSteps } from './refresh.js';
import { checkSafety } from './safety.js';
import { normalizeModule, planVfioModules, VFIO_MODULES } from './vfio-modules.js';

function dedupeWarnings(ws: readonly Warning[]): Warning[] {
  const seen = new Set<string>();
  return ws.filter((w) => {
    const k = `${w.subject}\0${w.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export function planHost(node: Node, facts: HostFacts): HostPlanResult {
  const safety = checkSafety(node, facts);
  if (safety.frozen) {
    return { steps: [], refused: [...safety.nodeRefusals], warnings: dedupeWarnings(safety.warnings), rebootReasons: [] };
  }
  const planned = node.devices.filter((d) => !safety.refusedAddresses.has(d.address));
  const hasDevices = planned.length > 0;

  const cmdline = planKernelCmdline(node, facts, hasDevices);
  if (cmdline.blocking.length) {
    return {
      steps: [],
      refused: [...cmdline.blocking, ...cmdline.refused, ...safety.deviceRefusals],
      warnings: dedupeWarnings([...safety.warnings, ...cmdline.warnings]),
      rebootReasons: [],
    };
  }
  const modules = planVfioModules(facts, hasDevices);
  const modprobe = planModprobe(node, facts, {
    devices: planned,
    bindings: safety.bindings,
    unsafeInterrupts: safety.unsafeInterrupts && hasDevices,
    trailer: renderLedger(cmdline.ledger),
  });

  const writes = fileSteps([...cmdline.changes, ...modules.changes, ...modprobe.changes], facts);
  const refresh = refreshSteps(writes, facts);
  const after: HostFacts = { ...facts, files: applyFileSteps(facts.files, writes) };

  const rebootReasons = [...cmdlineRebootReasons(after, cmdline.desired, ownedCmdlineTokens(facts))];
  if (hasDevices) {
    const loaded = new Set(facts.modulesLoaded.map(normalizeModule));
    const missing = VFIO_MODULES.filter((m) => !loaded.has(m));
    if (missing.length) rebootReasons.push(`vfio modules not loaded yet: ${missing.join(', ')}`);
  }
  const covered = coveredAddresses(planned, facts);
  for (const d of planned) {
    for (const f of functionsOf(d, facts)) {
      if (f.driver && f.driver !== 'vfio-pci') rebootReasons.push(`device ${f.address} is bound to ${f.driver}; vfio-pci takes it at the next boot`);
    }
  }
  if (refresh.some((s) => s.kind === 'refresh' && s.command === 'update-initramfs') && writes.some((s) => s.path === MODPROBE_FILE)) {
    for (const p of facts.pci) {
      if (p.driver === 'vfio-pci' && !covered.has(p.address)) rebootReasons.push(`device ${p.address} stays on vfio-pci until the next boot (no longer declared)`);
    }
  }

  return {
    steps: [...writes, ...refresh],
    refused: [...safety.deviceRefusals, ...cmdline.refused],
    warnings: dedupeWarnings([...safety.warnings, ...cmdline.warnings, ...modules.warnings, ...modprobe.warnings]),
    rebootReasons,
  };
}
