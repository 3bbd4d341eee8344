import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { UnsafeContentError } from '../../../src/operations/host/paths.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import type { HostStep } from '../../../src/operations/types.js';
import { applyStepsToFacts } from './apply-steps.js';
import { fixture, GPU, GPU_AUDIO, makeNode, MGMT_NIC, pci, pve7Intel, pve9AmdSdboot, pve9IntelGrub, withFiles } from './facts-factory.js';

const gpu = { address: '0000:01:00.0', id: '10de:2484' };
const describeStep = (s: HostStep) => (s.kind === 'refresh' ? s.command : 'path' in s ? `${s.kind} ${s.path}` : s.kind);
const twinFacts = (): HostFacts => ({
  ...pve9IntelGrub(),
  pci: [...pve9IntelGrub().pci, pci({ ...GPU, address: '0000:02:00.0', iommuGroup: 15 }), pci({ ...GPU_AUDIO, address: '0000:02:00.1', iommuGroup: 15 })],
});

const scenarios: [string, () => HostFacts, Record<string, unknown>, string[], { groupsWhenActive?: Record<string, number> }?][] = [
  ['PVE 9 Intel plain GRUB', () => pve9IntelGrub(), { devices: [gpu], iommuPassthrough: true }, [
    'write-file /etc/default/grub.d/pve-passthrough.cfg', 'write-file /etc/modules-load.d/pve-passthrough.conf',
    'write-file /etc/modprobe.d/pve-passthrough.conf', 'update-initramfs', 'update-grub']],
  ['PVE 7 Intel 5.15 (intel_iommu=on, vfio_virqfd, IOMMU not active yet)', () => pve7Intel(), { devices: [gpu] }, [
    'write-file /etc/default/grub.d/pve-passthrough.cfg', 'write-file /etc/modules-load.d/pve-passthrough.conf',
    'write-file /etc/modprobe.d/pve-passthrough.conf', 'update-initramfs', 'update-grub'],
  { groupsWhenActive: { '0000:00:02.0': 0, '0000:00:01.0': 1, '0000:01:00.0': 14, '0000:01:00.1': 14, '0000:03:00.0': 17, '0000:04:00.0': 18 } }],
  ['PVE 9 AMD systemd-boot ZFS', () => pve9AmdSdboot(), { name: 'pve2', devices: [gpu], iommuPassthrough: true, kernelParams: ['initcall_blacklist=sysfb_init'] }, [
    'write-file /etc/kernel/cmdline', 'write-file /etc/modules-load.d/pve-passthrough.conf',
    'write-file /etc/modprobe.d/pve-passthrough.conf', 'update-initramfs', 'proxmox-boot-tool-refresh']],
  ['GRUB via proxmox-boot-tool', () => pve9IntelGrub({ bootLoader: { proxmoxBootTool: true } }), { devices: [gpu], iommuPassthrough: true }, [
    'write-file /etc/default/grub.d/pve-passthrough.cfg', 'write-file /etc/modules-load.d/pve-passthrough.conf',
    'write-file /etc/modprobe.d/pve-passthrough.conf', 'update-initramfs', 'proxmox-boot-tool-refresh']],
  ['twin GPUs, one declared (per-address)', twinFacts, { devices: [{ address: '0000:01:00.0' }] }, [
    'write-file /etc/modules-load.d/pve-passthrough.conf', 'write-file /etc/modprobe.d/pve-passthrough.conf', 'update-initramfs']],
  // /etc/modules already loads the vfio modules: no file of the tool's for them, only the leftover line goes.
  ['howto leftovers in /etc/modules on 6.17', () => withFiles(pve9IntelGrub(), { '/etc/modules': fixture('etc-modules/howto-pve7.txt') }), { devices: [gpu] }, [
    'write-file /etc/modules', 'write-file /etc/modprobe.d/pve-passthrough.conf', 'update-initramfs']],
  ['kernel params only, no devices', () => pve9IntelGrub(), { kernelParams: ['initcall_blacklist=sysfb_init'] }, [
    'write-file /etc/default/grub.d/pve-passthrough.cfg', 'update-grub']],
];

describe('planHost: first plan, then idempotent after apply + reboot', () => {
  it.each(scenarios)('%s', (_n, mk, nodeSpec, expectedSteps, opts = {}) => {
    const node = makeNode(nodeSpec);
    const before = mk();
    const first = planHost(node, before);
    expect(first.refused).toEqual([]);
    expect(first.steps.map(describeStep)).toEqual(expectedSteps);
    expect(first.rebootReasons.length).toBeGreaterThan(0);

    // applied, not rebooted yet: nothing to write, but the reboot is still pending
    const applied = applyStepsToFacts(before, first.steps);
    const pending = planHost(node, applied);
    expect(pending.steps).toEqual([]);
    expect(pending.rebootReasons).not.toEqual([]);

    const rebooted = applyStepsToFacts(before, first.steps, { reboot: true, ...opts });
    const second = planHost(node, rebooted);
    expect(second.steps).toEqual([]);
    expect(second.rebootReasons).toEqual([]);
    expect(second.refused).toEqual([]);
  });

  it('names the missing token as the reboot reason', () => {
    const r = planHost(makeNode({ devices: [gpu] }), pve7Intel());
    expect(r.rebootReasons).toContain('cmdline token intel_iommu=on missing from /proc/cmdline');
    expect(r.rebootReasons).toContain('device 0000:01:00.0 is bound to nouveau; vfio-pci takes it at the next boot');
  });

  it('skipping the refresh would leave the node unconverged (the helper notices)', () => {
    const node = makeNode({ devices: [gpu], iommuPassthrough: true });
    const first = planHost(node, pve9IntelGrub());
    const noRefresh = first.steps.filter((s) => s.kind !== 'refresh');
    const rebooted = applyStepsToFacts(pve9IntelGrub(), noRefresh, { reboot: true });
    expect(planHost(node, rebooted).rebootReasons).toContain('cmdline token iommu=pt missing from /proc/cmdline');
  });
});

describe('planHost: removal round trip', () => {
  it.each(scenarios)('%s', (_n, mk, nodeSpec, _steps, opts = {}) => {
    const original = mk();
    const declared = makeNode(nodeSpec);
    const s1 = planHost(declared, original);
    const configured = applyStepsToFacts(original, s1.steps, { reboot: true, ...opts });

    const removedNode = makeNode({ name: declared.name });
    const s2 = planHost(removedNode, configured);
    expect(s2.steps.some((s) => s.kind === 'remove-file' || s.kind === 'write-file')).toBe(true);
    const restored = applyStepsToFacts(configured, s2.steps, { reboot: true });

    const leftovers = ['/etc/modules']; // a harmful leftover fixed on the way is not put back
    for (const [path, file] of Object.entries(original.files)) {
      if (leftovers.includes(path) && file.content?.includes('vfio_virqfd')) continue;
      expect(restored.files[path]?.content ?? null, path).toBe(file.content);
    }
    for (const path of Object.keys(restored.files)) expect(path in original.files, path).toBe(true);
    expect(planHost(removedNode, restored)).toMatchObject({ steps: [], rebootReasons: [] });
    expect(restored.pci.find((p) => p.address === '0000:01:00.0')?.driver).toBe('nouveau');
  });
});

describe('planHost: refusals', () => {
  it('node-level refusal: no steps at all', () => {
    const r = planHost(makeNode({ devices: [gpu], iommuPassthrough: true }), pve9IntelGrub({ parseErrors: ['garbled lspci'] }));
    expect(r.steps).toEqual([]);
    expect(r.refused.map((x) => x.subject)).toEqual(['node pve1']);
    expect(r.rebootReasons).toEqual([]);
  });
  it('a GRUB override refusal stops the node', () => {
    const f = withFiles(pve7Intel(), { '/etc/default/grub.d/zz.cfg': fixture('grub-default/override-later.txt') });
    const r = planHost(makeNode({ devices: [gpu] }), f);
    expect(r.steps).toEqual([]);
    expect(r.refused[0]?.subject).toBe('file /etc/default/grub.d/zz.cfg');
  });
  it('a refused device is left out while the others are planned', () => {
    const r = planHost(makeNode({ devices: [gpu, { address: MGMT_NIC.address }] }), pve9IntelGrub());
    expect(r.refused.map((x) => x.subject)).toEqual(['device 0000:03:00.0']);
    const mp = r.steps.find((s) => s.kind === 'write-file' && s.path === '/etc/modprobe.d/pve-passthrough.conf');
    expect(mp?.kind === 'write-file' && mp.after).toContain('ids=10de:228b,10de:2484\n');
    expect(mp?.kind === 'write-file' && mp.after).not.toMatch(/8086:1533|igb/);
  });
  it('IOMMU off in firmware: nothing changes, even leftovers', () => {
    const f = withFiles(pve9IntelGrub({ iommu: { active: false, units: [], firmwareTable: null } }), { '/etc/modules': fixture('etc-modules/howto-pve7.txt') });
    expect(planHost(makeNode(), f).steps).toEqual([]);
  });
  it('unsafe interrupts opt-in writes the option with a warning', () => {
    const r = planHost(makeNode({ devices: [gpu], allowUnsafeInterrupts: true }), pve9IntelGrub({ iommu: { interruptRemapping: false } }));
    const mp = r.steps.find((s) => s.kind === 'write-file' && s.path === '/etc/modprobe.d/pve-passthrough.conf');
    expect(mp?.kind === 'write-file' && mp.after).toContain('options vfio_iommu_type1 allow_unsafe_interrupts=1\n');
    expect(r.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/interrupt remapping is absent/));
  });
  it('keeps mode and owner of edited files; new files are 0644 root', () => {
    const f = pve9IntelGrub();
    const edited = { ...f, files: { ...f.files, '/etc/modules': { path: '/etc/modules', content: fixture('etc-modules/howto-pve7.txt'), mode: '0640', uid: 0, gid: 4 } } };
    const steps = planHost(makeNode({ devices: [gpu] }), edited).steps;
    expect(steps.find((s) => s.kind === 'write-file' && s.path === '/etc/modules')).toMatchObject({ mode: '0640', uid: 0, gid: 4, before: fixture('etc-modules/howto-pve7.txt') });
    expect(steps.find((s) => s.kind === 'write-file' && s.path.endsWith('pve-passthrough.conf'))).toMatchObject({ mode: '0644', uid: 0, gid: 0, before: null });
  });
  it('hostile values in facts never reach a file: the plan throws instead of writing', () => {
    const f = { ...pve9IntelGrub(), pci: pve9IntelGrub().pci.map((p) => (p.address === '0000:01:00.1' ? { ...p, id: '10de:228b disable_vga=1\ninstall igb /bin/sh' } : p)) };
    expect(() => planHost(makeNode({ devices: [gpu] }), f)).toThrow(UnsafeContentError);
  });
  it('is deterministic', () => {
    const node = makeNode({ devices: [gpu], iommuPassthrough: true });
    expect(JSON.stringify(planHost(node, pve9AmdSdboot()))).toBe(JSON.stringify(planHost(node, pve9AmdSdboot())));
  });
});
