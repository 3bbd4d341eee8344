/**
 * Live rebinding: move declared functions to vfio-pci without a reboot when
 * the running kernel already has what the next boot would bring.
 *
 * A node takes live steps only when ALL of these hold (otherwise it reboots,
 * and the reasons say why):
 * - the IOMMU is active in the running kernel;
 * - no other reboot reason is left (a cmdline token missing from /proc/cmdline,
 *   a device still on vfio-pci that is no longer declared): a reboot that has
 *   to happen anyway binds everything, so live steps would only add risk;
 * - every function to move is free: nothing the host needs behind it
 *   (management/cluster network, a mounted file system, a pool or LVM member,
 *   the boot console — all in facts.hostNeeds), not the boot VGA device, in an
 *   IOMMU group, and its driver is not one that cannot let go (below).
 * "No VM using it" holds by construction: a device a VM uses is on vfio-pci
 * already and gets no step.
 *
 * The steps come after the file writes and refreshes, so the persistent
 * configuration that makes the next boot agree is in place first. The engine
 * runs `modprobe vfio-pci` once, then per function: driver_override, unbind
 * (when a driver holds it), bind to vfio-pci.
 */
import type { HostFacts, PciDevice } from '../../facts/host/types.js';
import type { Device } from '../../inventory/schema.js';
import type { HostStep, Warning } from '../types.js';
import { functionsOf } from './driver-binding.js';
import { normalizeModule } from '../../facts/host/modprobe-d.js';
import { VFIO_MODULES } from './vfio-modules.js';

export type LiveBindStep = Extract<HostStep, { kind: 'live-bind' }>;

/** Host drivers that do not give a device back cleanly at run time, and why. */
export const DRIVERS_THAT_CANNOT_LET_GO: ReadonlyMap<string, string> = new Map([
  ['nvidia', 'the proprietary driver keeps the GPU open (nvidia-persistenced, a display server) and an unbind blocks until every user closes it'],
  ['amdgpu', 'an AMD GPU that amdgpu has initialised often cannot be reset for a guest (the AMD reset bug); vfio-pci must take it before amdgpu does'],
  ['radeon', 'an AMD GPU that radeon has initialised often cannot be reset for a guest; vfio-pci must take it before radeon does'],
  ['i915', 'the Intel graphics driver holds the host console and display'],
  ['xe', 'the Intel graphics driver holds the host console and display'],
]);

export interface LiveBindInput {
  readonly devices: readonly Device[];
  readonly facts: HostFacts;
  /** Reboot reasons that have nothing to do with the binding (cmdline, removed devices). */
  readonly otherReasons: readonly string[];
}

export interface LiveBindResult {
  /** Non-empty = the node needs no reboot for its devices. */
  readonly steps: readonly LiveBindStep[];
  /** Why the devices wait for a reboot instead (empty when steps were planned or nothing has to move). */
  readonly rebootReasons: readonly string[];
}

/** Why this function cannot be moved live, or null when it can. */
export function liveBlocker(f: PciDevice, facts: HostFacts): string | null {
  const needs = facts.hostNeeds[f.address] ?? [];
  if (needs.length) return `the host needs it (${needs.map((n) => n.kind).join(', ')})`;
  if (f.bootVga) return 'it is the boot console GPU';
  if (f.iommuGroup === null) return 'it has no IOMMU group in the running kernel';
  if (f.driver) {
    const why = DRIVERS_THAT_CANNOT_LET_GO.get(normalizeModule(f.driver)) ?? DRIVERS_THAT_CANNOT_LET_GO.get(f.driver);
    if (why) return `${f.driver} cannot let go of it live: ${why}`;
  }
  return null;
}

/** Declared functions not yet on vfio-pci, deduplicated, in address order. */
function functionsToMove(devices: readonly Device[], facts: HostFacts, includeUnbound: boolean): PciDevice[] {
  const out = new Map<string, PciDevice>();
  for (const d of devices) {
    for (const f of functionsOf(d, facts)) {
      if (f.driver === 'vfio-pci') continue;
      if (f.driver === null && !includeUnbound) continue;
      out.set(f.address, f);
    }
  }
  return [...out.values()].sort((a, b) => a.address.localeCompare(b.address));
}

export function vfioModulesMissing(facts: HostFacts): string[] {
  const loaded = new Set(facts.modulesLoaded.map(normalizeModule));
  return VFIO_MODULES.filter((m) => !loaded.has(m));
}

/**
 * Live steps, or the device reboot reasons. Without live rebinding (`live`
 * false) the reasons are the plain ones: each function on a host driver, and
 * vfio modules not loaded yet.
 */
export function planLiveBind(input: LiveBindInput, live: boolean): LiveBindResult {
  const { devices, facts } = input;
  const missing = devices.length ? vfioModulesMissing(facts) : [];
  // An unbound function only needs a live bind when vfio-pci is not loaded yet
  // (once it is, PVE binds such a function at VM start).
  const fns = functionsToMove(devices, facts, missing.length > 0);
  const plain = [
    ...(missing.length ? [`vfio modules not loaded yet: ${missing.join(', ')}`] : []),
    ...fns.filter((f) => f.driver !== null).map((f) => `device ${f.address} is bound to ${f.driver}; vfio-pci takes it at the next boot`),
  ];
  if (!live || fns.length === 0) return { steps: [], rebootReasons: plain };

  const nodeBlock = !facts.iommu.active
    ? 'the IOMMU is not active in the running kernel'
    : input.otherReasons.length
      ? 'the node reboots anyway'
      : null;
  const blocked = fns.map((f) => ({ f, why: liveBlocker(f, facts) })).filter((x) => x.why !== null);
  if (nodeBlock !== null || blocked.length) {
    const perFn = new Map(blocked.map((x) => [x.f.address, x.why]));
    const reasons = [
      ...(missing.length ? [`vfio modules not loaded yet: ${missing.join(', ')}`] : []),
      ...fns.filter((f) => f.driver !== null).map((f) => {
        const why = perFn.get(f.address);
        return `device ${f.address} is bound to ${f.driver}; vfio-pci takes it at the next boot${why ? ` (no live rebind: ${why})` : ''}`;
      }),
    ];
    return { steps: [], rebootReasons: reasons };
  }
  return {
    steps: fns.map((f) => ({
      kind: 'live-bind',
      address: f.address,
      from: f.driver,
      reason: f.driver
        ? `the running kernel already has the IOMMU on: unbind from ${f.driver} and bind vfio-pci now instead of rebooting`
        : 'vfio-pci is not loaded yet: load it and bind this function now instead of rebooting',
    })),
    rebootReasons: [],
  };
}

/**
 * One warning per declared function a host driver holds: it is taken from
 * that driver now, by this plan's live-bind step, or at the next boot.
 */
export function inUseWarnings(devices: readonly Device[], facts: HostFacts, steps: readonly LiveBindStep[]): Warning[] {
  const live = new Set(steps.map((s) => s.address));
  return functionsToMove(devices, facts, false).map((f) => ({
    subject: `device ${f.address}`,
    message: live.has(f.address)
      ? `in use by ${f.driver} now; this run unbinds it and binds vfio-pci live (no reboot): the host loses it when the live-bind step runs`
      : `in use by ${f.driver} now; vfio-pci takes it at the next boot`,
  }));
}
