import { describe, expect, it } from 'vitest';
import { checkSafety } from '../../../src/operations/host/safety.js';
import { GPU, IGPU, makeNode, MGMT_NIC, pci, pve7Intel, pve9IntelGrub } from './facts-factory.js';

const gpu = { address: '0000:01:00.0' };
const subjects = (rs: readonly { subject: string }[]) => rs.map((r) => r.subject);

describe('node-level refusals', () => {
  it.each([
    ['parse errors', pve9IntelGrub({ parseErrors: ['lspci: line 12 is not a device header'] }), /could not be read cleanly.*line 12/],
    ['IOMMU off in firmware', pve9IntelGrub({ iommu: { active: false, units: [], firmwareTable: null, kind: null } }), /off in the firmware/],
    ['unreadable next kernel', pve9IntelGrub({ kernel: { next: 'vmlinuz' } }), /cannot read the version/],
    ['no interrupt remapping', pve9IntelGrub({ iommu: { interruptRemapping: false } }), /interrupt remapping is absent/],
  ])('%s', (_n, facts, reason) => {
    const r = checkSafety(makeNode({ devices: [gpu] }), facts);
    expect(r.frozen).toBe(true);
    expect(r.nodeRefusals).toHaveLength(1);
    expect(r.nodeRefusals[0]).toMatchObject({ subject: 'node pve1', reason: expect.stringMatching(reason), fix: expect.any(String) });
  });
  it('IOMMU off in firmware without devices: frozen, warned, not refused', () => {
    const r = checkSafety(makeNode(), pve9IntelGrub({ iommu: { active: false, units: [], firmwareTable: null } }));
    expect(r).toMatchObject({ frozen: true, nodeRefusals: [] });
    expect(r.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/changing nothing/));
  });
  it('IOMMU inactive but DMAR present (old Intel kernel) is not "off in firmware"', () => {
    expect(checkSafety(makeNode({ devices: [gpu] }), pve7Intel()).frozen).toBe(false);
  });
  it('allowUnsafeInterrupts turns the refusal into a warning and the option', () => {
    const r = checkSafety(makeNode({ devices: [gpu], allowUnsafeInterrupts: true }), pve9IntelGrub({ iommu: { interruptRemapping: false } }));
    expect(r).toMatchObject({ frozen: false, unsafeInterrupts: true });
    expect(r.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/allow_unsafe_interrupts=1/));
  });
  it('warnings: not PVE, amd_iommu=on leftover', () => {
    const r = checkSafety(makeNode(), pve9IntelGrub({ pveVersion: null, procCmdline: 'BOOT_IMAGE=/vmlinuz root=/dev/sda1 amd_iommu=on' }));
    expect(r.warnings.map((w) => w.message)).toEqual([expect.stringMatching(/not PVE.*carrying on/), expect.stringMatching(/harmless leftover/)]);
  });
});

describe('device refusals', () => {
  it.each([
    ['missing device', [{ address: '0000:09:00.0' }], pve9IntelGrub(), /not found in lspci/],
    ['id mismatch', [{ address: '0000:01:00.0', id: '10de:1b80' }], pve9IntelGrub(), /hardware says 10de:2484, the inventory expects 10de:1b80/],
    ['bridge', [{ address: '0000:00:01.0' }], pve9IntelGrub(), /is a bridge/],
    ['management NIC itself', [{ address: '0000:03:00.0' }], pve9IntelGrub(), /0000:03:00.0 \(a function of the device\) carries the management network \(interface vmbr0: vmbr0 -> eno1/],
    ['root disk', [{ address: '0000:04:00.0' }], pve9IntelGrub(), /carries the root\/boot disk \(/],
    ['boot console, no other display', [{ address: '0000:00:02.0' }], pve9IntelGrub({ pci: pve9IntelGrub().pci.filter((p) => p.address !== '0000:01:00.0') }), /it is the boot GPU \(boot_vga = 1\) and the host has no other display device/],
    ['boot console in the group', [gpu], pve9IntelGrub({ pci: pve9IntelGrub().pci.map((p) => (p.address === '0000:00:02.0' ? { ...p, iommuGroup: 14 } : p)) }), /0000:00:02.0 \(in its IOMMU group 14\) carries the boot console \(boot_vga = 1/],
    ['mgmt NIC in the GPU group', [gpu], pve9IntelGrub({ pci: pve9IntelGrub().pci.map((p) => (p.address === MGMT_NIC.address ? { ...p, iommuGroup: 14 } : p)) }), /0000:03:00.0 \(in its IOMMU group 14\) carries the management network/],
    ['blacklisting the boot VGA driver', [{ address: '0000:01:00.0', blacklist: ['i915'] }], pve9IntelGrub(), /boot console GPU 0000:00:02.0/],
  ])('%s', (_n, devices, facts, reason) => {
    const r = checkSafety(makeNode({ devices }), facts);
    expect(r.frozen).toBe(false);
    expect(r.deviceRefusals.map((x) => x.reason)).toContainEqual(expect.stringMatching(reason));
    expect(r.refusedAddresses.has((devices[0] as { address: string }).address)).toBe(true);
  });

  it('a group member the host needs is named with its need, and the fix never offers it to the guest', () => {
    const facts = pve9IntelGrub({ pci: pve9IntelGrub().pci.map((p) => (p.address === MGMT_NIC.address ? { ...p, iommuGroup: 14 } : p)) });
    const r = checkSafety(makeNode({ devices: [gpu] }), facts);
    const group = r.deviceRefusals.find((x) => x.reason.startsWith('IOMMU group 14'))!;
    expect(group.reason).toMatch(/0000:03:00\.0 Ethernet controller \(igb\), which carries the management network \(interface vmbr0: vmbr0 -> eno1/);
    expect(group.fix).toMatch(/0000:03:00\.0 must stay with the host/);
    expect(group.fix).not.toMatch(/declare those devices/);
    expect(r.deviceRefusals.map((x) => x.fix ?? '').join('\n')).not.toMatch(/declare/);
  });

  it('ids= binding with a host-needed twin: refused for ids, per-address for auto', () => {
    const twin = pci({ ...MGMT_NIC, address: '0000:05:00.0', iommuGroup: 20, driver: 'igb' });
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, twin] };
    const ids = checkSafety(makeNode({ devices: [{ address: '0000:05:00.0', bind: 'ids' }] }), facts);
    expect(ids.deviceRefusals.map((r) => r.reason)).toEqual([expect.stringMatching(/would also take 0000:03:00.0/), expect.stringMatching(/shares its vendor:device id/)]);
    const auto = checkSafety(makeNode({ devices: [{ address: '0000:05:00.0' }] }), facts);
    expect(auto.deviceRefusals).toEqual([]);
    expect(auto.bindings.get('0000:05:00.0')?.mode).toBe('address');
  });

  it('bad group: refused, or warned with allowAcsOverride; bridges, slot functions and declared peers are fine', () => {
    const usb = pci({ address: '0000:06:00.0', id: '1912:0015', classCode: '0c03', className: 'USB controller', driver: 'xhci_hcd', modules: ['xhci_pci'], iommuGroup: 14 });
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, usb] };
    const refused = checkSafety(makeNode({ devices: [gpu] }), facts);
    expect(refused.deviceRefusals[0]?.reason).toMatch(/IOMMU group 14 also holds 0000:06:00.0 USB controller \(xhci_hcd\)/);
    const acs = checkSafety(makeNode({ devices: [gpu], allowAcsOverride: true }), facts);
    expect(acs.deviceRefusals).toEqual([]);
    expect(acs.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/allowed by allowAcsOverride/));
    const both = checkSafety(makeNode({ devices: [gpu, { address: '0000:06:00.0' }] }), facts);
    expect(both.deviceRefusals).toEqual([]);
    const withBridge = { ...pve9IntelGrub(), pci: pve9IntelGrub().pci.map((p) => (p.address === '0000:00:01.0' ? { ...p, iommuGroup: 14 } : p)) };
    expect(checkSafety(makeNode({ devices: [gpu] }), withBridge).deviceRefusals).toEqual([]);
  });

  it('refusing one device can refuse its twin on the next round (fail closed)', () => {
    const twin = pci({ ...GPU, address: '0000:02:00.0', iommuGroup: 15 });
    const facts = { ...pve9IntelGrub(), pci: [...pve9IntelGrub().pci, twin], hostNeeds: { ...pve9IntelGrub().hostNeeds, '0000:02:00.0': [{ kind: 'boot-console' as const, detail: 'boot_vga = 1' }] } };
    const r = checkSafety(makeNode({ devices: [{ address: '0000:01:00.0', bind: 'ids', allFunctions: false }, { address: '0000:02:00.0', allFunctions: false }] }), facts);
    expect([...r.refusedAddresses].sort()).toEqual(['0000:01:00.0', '0000:02:00.0']);
    expect(subjects(r.deviceRefusals)).toEqual(['device 0000:01:00.0', 'device 0000:02:00.0']);
  });

  it('warns when the device has no group yet (that it is in use is the plan\'s to say: live-bind.test.ts)', () => {
    const r = checkSafety(makeNode({ devices: [gpu] }), pve7Intel());
    expect(r.warnings.map((w) => w.message)).toEqual(expect.arrayContaining([
      expect.stringMatching(/no IOMMU group yet/),
    ]));
    expect(IGPU.bootVga).toBe(true);
  });
});
