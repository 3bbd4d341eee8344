/**
 * planHost with live rebinding: when the running kernel already has what the
 * next boot brings, declared functions move now and the reboot reasons go;
 * otherwise the plan says exactly why the node reboots.
 */
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { DRIVERS_THAT_CANNOT_LET_GO, liveBlocker, planLiveBind } from '../../../src/operations/host/live-bind.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import { verifyHost } from '../../../src/operations/host/verify-host.js';
import type { HostStep } from '../../../src/operations/types.js';
import { applyStepsToFacts } from './apply-steps.js';
import { GPU, GPU_AUDIO, makeNode, MGMT_NIC, pve7Intel, pve9AmdSdboot, pve9IntelGrub } from './facts-factory.js';

const gpu = { address: '0000:01:00.0', allFunctions: true };
const LIVE = { liveBind: true };
const liveSteps = (steps: readonly HostStep[]) => steps.flatMap((s) => (s.kind === 'live-bind' ? [[s.address, s.from]] : []));

/** What the host looks like after the steps ran, live steps included (no reboot). */
function afterLive(facts: HostFacts, steps: readonly HostStep[]): HostFacts {
  const files = applyStepsToFacts(facts, steps);
  const moved = new Set(steps.flatMap((s) => (s.kind === 'live-bind' ? [s.address] : [])));
  return {
    ...files,
    pci: files.pci.map((p) => (moved.has(p.address) ? { ...p, driver: 'vfio-pci', driverOverride: 'vfio-pci' } : p)),
    modulesLoaded: moved.size ? [...files.modulesLoaded, 'vfio_pci', 'vfio_pci_core', 'vfio_iommu_type1', 'vfio'] : files.modulesLoaded,
  };
}

describe('planHost with liveBind', () => {
  it('IOMMU on, no token needed: every function moves live, after the writes and refreshes; no reboot reason', () => {
    const r = planHost(makeNode({ devices: [gpu] }), pve9IntelGrub(), LIVE);
    expect(r.rebootReasons).toEqual([]);
    expect(r.steps.map((s) => s.kind)).toEqual(['write-file', 'write-file', 'refresh', 'live-bind', 'live-bind']);
    expect(liveSteps(r.steps)).toEqual([['0000:01:00.0', 'nouveau'], ['0000:01:00.1', 'snd_hda_intel']]);
  });

  it('the in-use warning says what the plan does: live-bind now when it has that step, the next boot when it reboots', () => {
    const inUse = (w: readonly { subject: string; message: string }[]) => w.filter((x) => /^in use by/.test(x.message)).map((x) => `${x.subject}: ${x.message}`);
    const live = planHost(makeNode({ devices: [gpu] }), pve9IntelGrub(), LIVE);
    expect(liveSteps(live.steps)).toHaveLength(2);
    expect(inUse(live.warnings)).toEqual([
      'device 0000:01:00.0: in use by nouveau now; this run unbinds it and binds vfio-pci live (no reboot): the host loses it when the live-bind step runs',
      'device 0000:01:00.1: in use by snd_hda_intel now; this run unbinds it and binds vfio-pci live (no reboot): the host loses it when the live-bind step runs',
    ]);
    const boot = planHost(makeNode({ devices: [gpu] }), pve9IntelGrub());
    expect(liveSteps(boot.steps)).toEqual([]);
    expect(inUse(boot.warnings)).toEqual([
      'device 0000:01:00.0: in use by nouveau now; vfio-pci takes it at the next boot',
      'device 0000:01:00.1: in use by snd_hda_intel now; vfio-pci takes it at the next boot',
    ]);
  });

  it('after the live steps the plan is empty and verification passes without a reboot', () => {
    const node = makeNode({ devices: [gpu] });
    const before = pve9IntelGrub();
    const first = planHost(node, before, LIVE);
    const now = afterLive(before, first.steps);
    expect(planHost(node, now, LIVE)).toMatchObject({ steps: [], rebootReasons: [] });
    const failing = verifyHost(node, now).filter((c) => c.status === 'fail');
    expect(failing).toEqual([]);
  });

  it('without liveBind the plain reasons stay (bound driver, modules not loaded)', () => {
    const r = planHost(makeNode({ devices: [gpu] }), pve9IntelGrub());
    expect(liveSteps(r.steps)).toEqual([]);
    expect(r.rebootReasons).toEqual([
      'vfio modules not loaded yet: vfio, vfio_iommu_type1, vfio_pci',
      'device 0000:01:00.0 is bound to nouveau; vfio-pci takes it at the next boot',
      'device 0000:01:00.1 is bound to snd_hda_intel; vfio-pci takes it at the next boot',
    ]);
  });

  it('a token missing from /proc/cmdline: reboot with that reason first, nothing live', () => {
    const r = planHost(makeNode({ devices: [gpu], iommuPassthrough: true }), pve9IntelGrub(), LIVE);
    expect(liveSteps(r.steps)).toEqual([]);
    expect(r.rebootReasons[0]).toBe('cmdline token iommu=pt missing from /proc/cmdline');
    expect(r.rebootReasons).toContain('device 0000:01:00.0 is bound to nouveau; vfio-pci takes it at the next boot');
  });

  it('IOMMU not active in the running kernel (PVE 7 without intel_iommu=on): reboot', () => {
    const r = planHost(makeNode({ devices: [gpu] }), pve7Intel(), LIVE);
    expect(liveSteps(r.steps)).toEqual([]);
    expect(r.rebootReasons).toContain('cmdline token intel_iommu=on missing from /proc/cmdline');
  });

  it('a driver that cannot let go: the whole node reboots and the reason names the driver', () => {
    const amd = pve9AmdSdboot({ pci: pve9AmdSdboot().pci.map((p) => (p.address === GPU.address ? { ...p, driver: 'amdgpu', modules: ['amdgpu'] } : p)) });
    const r = planHost(makeNode({ name: 'pve2', devices: [gpu] }), amd, LIVE);
    expect(liveSteps(r.steps)).toEqual([]);
    expect(r.rebootReasons).toContainEqual(expect.stringMatching(/^device 0000:01:00\.0 is bound to amdgpu; vfio-pci takes it at the next boot \(no live rebind: amdgpu cannot let go of it live: .*reset bug/));
    // the audio function alone could move, but the node reboots anyway: no half-live state
    expect(r.rebootReasons).toContain('device 0000:01:00.1 is bound to snd_hda_intel; vfio-pci takes it at the next boot');
  });

  it('an unbound function is only bound live when vfio-pci is not loaded yet', () => {
    const unbound = pve9IntelGrub({ pci: pve9IntelGrub().pci.map((p) => (p.address === GPU_AUDIO.address ? { ...p, driver: null } : p)) });
    expect(liveSteps(planHost(makeNode({ devices: [gpu] }), unbound, LIVE).steps)).toEqual([['0000:01:00.0', 'nouveau'], ['0000:01:00.1', null]]);
    const loaded = { ...unbound, modulesLoaded: [...unbound.modulesLoaded, 'vfio_pci', 'vfio_iommu_type1', 'vfio'] };
    expect(liveSteps(planHost(makeNode({ devices: [gpu] }), loaded, LIVE).steps)).toEqual([['0000:01:00.0', 'nouveau']]);
  });

  it('removing a declared device that sits on vfio-pci: reboot, nothing live', () => {
    const node = makeNode({ devices: [gpu] });
    const bound = afterLive(pve9IntelGrub(), planHost(node, pve9IntelGrub(), LIVE).steps);
    const r = planHost(makeNode(), bound, LIVE);
    expect(liveSteps(r.steps)).toEqual([]);
    expect(r.steps.some((s) => s.kind === 'remove-file')).toBe(true);
    expect(r.rebootReasons).toContain('device 0000:01:00.0 stays on vfio-pci until the next boot (no longer declared)');
  });
});

describe('liveBlocker', () => {
  const f = pve9IntelGrub();
  it('names what holds a function', () => {
    expect(liveBlocker(GPU, f)).toBeNull();
    expect(liveBlocker(MGMT_NIC, f)).toBe('the host needs it (management-network)');
    expect(liveBlocker({ ...GPU, bootVga: true }, { ...f, hostNeeds: {} })).toBe('it is the boot console GPU');
    expect(liveBlocker({ ...GPU, iommuGroup: null }, f)).toBe('it has no IOMMU group in the running kernel');
    for (const drv of DRIVERS_THAT_CANNOT_LET_GO.keys()) expect(liveBlocker({ ...GPU, driver: drv }, f)).toMatch(new RegExp(`^${drv} cannot let go`));
  });
  it('other reasons block the node even when every function is free', () => {
    const r = planLiveBind({ devices: makeNode({ devices: [gpu] }).devices, facts: f, otherReasons: ['cmdline token iommu=pt missing from /proc/cmdline'] }, true);
    expect(r.steps).toEqual([]);
    expect(r.rebootReasons).toContain('device 0000:01:00.0 is bound to nouveau; vfio-pci takes it at the next boot');
  });
});
