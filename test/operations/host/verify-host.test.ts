import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../../src/facts/host/types.js';
import { planHost } from '../../../src/operations/host/plan-host.js';
import { verifyHost } from '../../../src/operations/host/verify-host.js';
import type { Check } from '../../../src/operations/types.js';
import { applyStepsToFacts } from './apply-steps.js';
import { GPU, GPU_AUDIO, makeNode, pci, pve7Intel, pve9AmdSdboot, pve9IntelGrub, withFiles } from './facts-factory.js';

const byId = (cs: Check[]) => Object.fromEntries(cs.map((c) => [c.id, c]));
const statuses = (cs: Check[]) => Object.fromEntries(cs.map((c) => [c.id, c.status]));
const gpu = { address: '0000:01:00.0' };

function converged(node = makeNode({ devices: [gpu], iommuPassthrough: true }), facts: HostFacts = pve9IntelGrub()): HostFacts {
  return applyStepsToFacts(facts, planHost(node, facts).steps, { reboot: true });
}

describe('verifyHost', () => {
  it('a converged node passes every check, with stable ids', () => {
    const node = makeNode({ devices: [gpu], iommuPassthrough: true });
    expect(statuses(verifyHost(node, converged(node)))).toEqual({
      'iommu-active': 'pass',
      'interrupt-remapping': 'pass',
      'cmdline-token:iommu=pt': 'pass',
      'vfio-modules': 'pass',
      'device-bound:0000:01:00.0': 'pass',
      'device-bound:0000:01:00.1': 'pass',
      'group-isolated:0000:01:00.0': 'pass',
      'framebuffer-free:0000:01:00.0': 'pass',
      'config-applied': 'pass',
      'reboot-pending': 'pass',
      'modules-load-ok': 'pass',
      // Not left in HA maintenance by a run of the tool (src/operations/host/ha-maintenance.ts).
      'ha-maintenance': 'na',
    });
  });

  it('before apply: config, cmdline, modules and binding fail with evidence', () => {
    const node = makeNode({ devices: [gpu], iommuPassthrough: true });
    const c = byId(verifyHost(node, pve9IntelGrub()));
    expect(c['cmdline-token:iommu=pt']).toMatchObject({ status: 'fail', evidence: 'BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet' });
    expect(c['device-bound:0000:01:00.0']).toMatchObject({ status: 'fail', evidence: '0000:01:00.0 [10de:2484] Kernel driver in use: nouveau' });
    expect(c['vfio-modules']?.status).toBe('fail');
    expect(c['config-applied']).toMatchObject({ status: 'fail', message: '5 step(s) pending' });
    expect(c['reboot-pending']?.status).toBe('pass'); // nothing configured yet, so nothing waits for a reboot
  });

  it('applied but not rebooted: reboot-pending fails, config-applied passes', () => {
    const node = makeNode({ devices: [gpu], iommuPassthrough: true });
    const applied = applyStepsToFacts(pve9IntelGrub(), planHost(node, pve9IntelGrub()).steps);
    const c = byId(verifyHost(node, applied));
    expect(c['config-applied']?.status).toBe('pass');
    expect(c['reboot-pending']?.status).toBe('fail');
    expect(c['reboot-pending']?.message).toMatch(/iommu=pt is configured but missing from \/proc\/cmdline/);
    expect(c['reboot-pending']?.message).toMatch(/0000:01:00.0 is configured for vfio-pci but bound to nouveau/);
  });

  it('systemd-boot converged node passes', () => {
    const node = makeNode({ name: 'pve2', devices: [gpu], kernelParams: ['initcall_blacklist=sysfb_init'] });
    const checks = verifyHost(node, converged(node, pve9AmdSdboot()));
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
  });

  it('an unbound device counts as bound (PVE binds at VM start)', () => {
    const node = makeNode({ devices: [gpu] });
    const f = converged(node);
    const unbound = { ...f, pci: f.pci.map((p) => (p.address === '0000:01:00.1' ? { ...p, driver: null } : p)) };
    expect(byId(verifyHost(node, unbound))['device-bound:0000:01:00.1']?.status).toBe('pass');
  });

  it('sibling-kept: an undeclared twin keeps its driver, fails when vfio-pci took it', () => {
    const base: HostFacts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, pci({ ...GPU, address: '0000:02:00.0', iommuGroup: 15 }), pci({ ...GPU_AUDIO, address: '0000:02:00.1', iommuGroup: 15 })] };
    const node = makeNode({ devices: [gpu] });
    const ok = converged(node, base);
    const c = byId(verifyHost(node, ok));
    expect(c['sibling-kept:0000:02:00.0']).toMatchObject({ status: 'pass', evidence: '0000:02:00.0 [10de:2484] Kernel driver in use: nouveau' });
    expect(c['config-applied']?.status).toBe('pass');
    const taken = { ...ok, pci: ok.pci.map((p) => (p.address === '0000:02:00.0' ? { ...p, driver: 'vfio-pci' } : p)) };
    expect(byId(verifyHost(node, taken))['sibling-kept:0000:02:00.0']?.status).toBe('fail');
  });

  it('group-isolated fails when another endpoint shares the group', () => {
    const node = makeNode({ devices: [gpu] });
    const f = converged(node);
    const bad = { ...f, pci: [...f.pci, pci({ address: '0000:06:00.0', id: '1912:0015', className: 'USB controller', driver: 'xhci_hcd', iommuGroup: 14 })] };
    expect(byId(verifyHost(node, bad))['group-isolated:0000:01:00.0']).toMatchObject({ status: 'fail', message: expect.stringMatching(/0000:06:00.0/) });
  });

  it('modules-load-ok fails on a failed systemd-modules-load (vfio_virqfd on 6.x)', () => {
    const node = makeNode({ devices: [gpu] });
    const f = { ...converged(node), failedUnits: ['systemd-modules-load.service'] };
    expect(byId(verifyHost(node, f))['modules-load-ok']).toMatchObject({ status: 'fail', evidence: 'systemctl --failed: systemd-modules-load.service' });
  });

  it('IOMMU off, no remapping, unknown remapping', () => {
    const node = makeNode({ devices: [gpu] });
    expect(byId(verifyHost(node, pve9IntelGrub({ iommu: { active: false, units: [], firmwareTable: null } })))['iommu-active']).toMatchObject({ status: 'fail', message: expect.stringMatching(/off in the firmware/) });
    expect(byId(verifyHost(node, pve7Intel()))['iommu-active']?.message).toMatch(/not active although the firmware has DMAR/);
    expect(byId(verifyHost(node, pve9IntelGrub({ iommu: { interruptRemapping: false } })))['interrupt-remapping']?.status).toBe('fail');
    expect(byId(verifyHost(makeNode({ devices: [gpu], allowUnsafeInterrupts: true }), pve9IntelGrub({ iommu: { interruptRemapping: false } })))['interrupt-remapping']?.status).toBe('pass');
    expect(byId(verifyHost(node, pve9IntelGrub({ iommu: { interruptRemapping: null } })))['interrupt-remapping']?.status).toBe('na');
  });

  it('no devices declared: device checks are n/a', () => {
    const c = byId(verifyHost(makeNode(), pve9IntelGrub()));
    expect(c['vfio-modules']?.status).toBe('na');
    expect(c['interrupt-remapping']?.status).toBe('na');
    expect(c['config-applied']?.status).toBe('pass');
    expect(Object.keys(c).some((k) => k.startsWith('device-bound:'))).toBe(false);
  });

  it('a node that cannot be planned fails config-applied with the reason', () => {
    const c = byId(verifyHost(makeNode({ devices: [gpu] }), pve9IntelGrub({ parseErrors: ['garbled'] })));
    expect(c['config-applied']).toMatchObject({ status: 'fail', message: expect.stringMatching(/cannot be planned: facts could not be read/) });
  });

  it('removed tokens still running are a pending reboot', () => {
    const node = makeNode({ devices: [gpu], iommuPassthrough: true });
    const f = converged(node);
    const removed = withFiles(f, { '/etc/default/grub.d/pve-passthrough.cfg': null });
    expect(byId(verifyHost(makeNode({ devices: [gpu] }), removed))['reboot-pending']?.message).toMatch(/iommu=pt is running but no longer configured/);
  });
});
