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
 *   but not loaded, declared functions still on a host driver, devices
 *   still on vfio-pci whose binding this plan removes, and a loaded vfio-pci
 *   running without the disable_vga=1 the next boot gives it (disable-vga.ts).
 * - With `liveBind` (the engine turns it on unless the reboot policy is
 *   "always"), declared functions move to vfio-pci now instead (live-bind.ts)
 *   when nothing else needs a reboot; their reasons then go away.
 * - The files the tool owns carry a seal line (owned-seal.ts): planning runs
 *   on the unsealed text, writes are sealed, and a hand edit that a step
 *   would overwrite or remove is a warning.
 * Applying the steps (and rebooting when reasons remain) makes the next plan empty.
 */
import type { HostFacts } from '../../facts/host/types.js';
import type { Node } from '../../inventory/schema.js';
import type { HostPlanResult, Refusal, Warning } from '../types.js';
import { didYouMean } from '../did-you-mean.js';
import { disableVgaReloadReason } from './disable-vga.js';
import { coveredAddresses, findPci } from './driver-binding.js';
import { planModprobe, renderModprobe } from './driver-binding.js';
import type { FileChange } from './file-change.js';
import { adoptModprobe } from './modprobe-adopt.js';
import { applyFileSteps, fileSteps } from './file-steps.js';
import { cmdlineRebootReasons, configuredCmdline, ownedCmdlineTokens, planKernelCmdline, renderLedger } from './kernel-cmdline.js';
import { keepCurrentHost } from './keep-current.js';
import { inUseWarnings, planLiveBind } from './live-bind.js';
import { sealSteps, unsealOwnedFiles } from './owned-seal.js';
import { MODPROBE_D, MODPROBE_FILE } from './paths.js';
import { refreshSteps } from './refresh.js';
import { checkSafety } from './safety.js';
import { planVfioModules } from './vfio-modules.js';

export interface PlanHostOptions {
  /** Move declared functions to vfio-pci now when nothing else needs a reboot (default false). */
  readonly liveBind?: boolean;
  /** Names the run in the marker of an operator line taken over (modprobe-adopt.ts). */
  readonly runId?: string;
}

function dedupeWarnings(ws: readonly Warning[]): Warning[] {
  const seen = new Set<string>();
  return ws.filter((w) => {
    const k = `${w.subject}\0${w.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Fail closed: a declared device this host does not have (a typo such as
 * 0000:02:00.0 for 0000:01:00.0) refuses the node's WHOLE plan. Planning the
 * rest would treat the typo'd device as undeclared and remove the real one's
 * vfio configuration (declarative removal), then reboot a working node.
 */
function unresolvedDevices(node: Node, facts: HostFacts): Refusal[] {
  const endpoints = facts.pci.filter((p) => !p.isBridge);
  const missing = node.devices.filter((d) => !findPci(facts, d.address));
  if (missing.length === 0) return [];
  const declared = new Set(node.devices.map((d) => d.address));
  const offer = (d: Node['devices'][number]) => {
    // Prefer endpoints with the declared vendor:device id, then any endpoint not already declared.
    const sameId = d.id !== undefined ? endpoints.filter((p) => p.id === d.id) : [];
    const pool = (sameId.length ? sameId : endpoints).map((p) => p.address).filter((a) => !declared.has(a));
    return didYouMean(d.address, pool);
  };
  return [
    ...missing.map((d) => ({
      subject: `device ${d.address}`,
      reason: `not found in lspci on this host${offer(d)}`,
      fix: 'list the host\'s devices with `pve-passthrough devices` and correct the address',
    })),
    {
      subject: `node ${node.name}`,
      reason: `nothing on this node is planned, removals included, while a declared device does not resolve (${missing.map((d) => d.address).join(', ')})`,
      fix: 'correct the address in the inventory, then plan again',
    },
  ];
}

export function planHost(declared: Node, rawFacts: HostFacts, opts: PlanHostOptions = {}): HostPlanResult {
  const { facts, states: seals } = unsealOwnedFiles(rawFacts);
  const unresolved = unresolvedDevices(declared, facts);
  if (unresolved.length) return { steps: [], refused: unresolved, warnings: [], rebootReasons: [] };
  // exact: false (flags mode) only adds: what the declaration leaves out is resolved to what the host has now.
  const { node, kept } = keepCurrentHost(declared, facts);
  const result = planResolved(node, facts, rawFacts, seals, opts);
  return kept.length ? { ...result, kept } : result;
}

function planResolved(node: Node, facts: HostFacts, rawFacts: HostFacts, seals: ReturnType<typeof unsealOwnedFiles>['states'], opts: PlanHostOptions): HostPlanResult {
  const safety = checkSafety(node, facts);
  if (safety.frozen) {
    return { steps: [], refused: [...safety.nodeRefusals], warnings: dedupeWarnings(safety.warnings), rebootReasons: [] };
  }
  const planned = node.devices.filter((d) => !safety.refusedAddresses.has(d.address));
  const hasDevices = planned.length > 0;

  const cmdline = planKernelCmdline(node, facts, planned);
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

  // One owner per setting: only what the operator's own modprobe.d lines lack goes into the tool's file.
  const nextCmdline = [...(configuredCmdline(facts) ?? []), ...cmdline.desired];
  const adopted = adoptModprobe(facts, renderModprobe(modprobe.plan), opts.runId ?? 'plan', nextCmdline);
  if (adopted.blocking.length) {
    return {
      steps: [],
      refused: [...adopted.blocking, ...safety.deviceRefusals, ...cmdline.refused],
      warnings: dedupeWarnings([...safety.warnings, ...cmdline.warnings, ...modules.warnings, ...modprobe.warnings]),
      rebootReasons: [],
    };
  }
  const ownedModprobe: FileChange[] = (facts.files[MODPROBE_FILE]?.content ?? null) === adopted.owned ? [] : [{
    path: MODPROBE_FILE,
    after: adopted.owned,
    reason: adopted.owned ? 'bind the declared devices to vfio-pci at boot' : 'nothing left to bind that the operator\'s files do not already',
  }];
  const unsealedWrites = fileSteps([...cmdline.changes, ...modules.changes, ...ownedModprobe, ...adopted.changes], facts);
  const sealed = sealSteps(unsealedWrites, rawFacts, seals);
  const writes = sealed.steps;
  const refresh = refreshSteps(writes, facts);
  const after: HostFacts = { ...facts, files: applyFileSteps(facts.files, unsealedWrites) };

  const cmdlineReasons = cmdlineRebootReasons(after, cmdline.desired, ownedCmdlineTokens(facts));
  const releaseReasons: string[] = [];
  const covered = coveredAddresses(planned, facts);
  if (refresh.some((s) => s.kind === 'refresh' && s.command === 'update-initramfs') && writes.some((s) => s.path.startsWith(MODPROBE_D))) {
    for (const p of facts.pci) {
      if (p.driver === 'vfio-pci' && !covered.has(p.address)) releaseReasons.push(`device ${p.address} stays on vfio-pci until the next boot (no longer declared)`);
    }
  }
  // A vfio-pci already loaded without disable_vga=1 runs so until it loads again.
  const vgaReasons = [disableVgaReloadReason(planned, after)].filter((r): r is string => r !== null);
  const live = planLiveBind({ devices: planned, facts, otherReasons: [...cmdlineReasons, ...releaseReasons, ...vgaReasons] }, opts.liveBind === true);

  return {
    steps: [...writes, ...refresh, ...live.steps],
    refused: [...safety.deviceRefusals, ...cmdline.refused],
    warnings: dedupeWarnings([...safety.warnings, ...inUseWarnings(planned, facts, live.steps), ...cmdline.warnings, ...modules.warnings, ...modprobe.warnings, ...adopted.warnings, ...sealed.warnings]),
    rebootReasons: [...cmdlineReasons, ...live.rebootReasons, ...releaseReasons, ...vgaReasons],
  };
}
