/**
 * Each simulated host profile through the tool (host-only inventories, real
 * SSH): what converges, what is refused and why. The simulated hosts enforce
 * the real boot rules, so "converges" here means the running kernel agrees.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { hosts } from '../../mocks/index.js';
import { apply, plan, verify } from '../../src/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };

function solo(profile: string, declare: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { clusters: [{ name: 'c', standalone: true, api: false, nodes: [{ name: 'n1', profile, declare, ...extra }] }] };
}

async function converge(scenario: unknown) {
  tf = await testFleet(scenario);
  const report = await apply(tf.inventory, fast);
  expect(report.ok, JSON.stringify(report.nodes, null, 1)).toBe(true);
  expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
  const again = await plan(tf.inventory, fast);
  expect(again.clusters[0]!.nodes[0]!.steps).toEqual([]);
  return tf.fleet.host('n1').state;
}

async function refusedPlan(scenario: unknown) {
  tf = await testFleet(scenario);
  const p = await plan(tf.inventory, fast);
  return p.clusters[0]!.nodes[0]!;
}

describe('profiles that converge', () => {
  it('PVE 8.1 on kernel 6.5 (Intel): intel_iommu=on through GRUB reaches /proc/cmdline', async () => {
    const h = await converge(solo('pve81-intel-6.5', { devices: [{ address: '0000:01:00.0' }] }));
    expect(h.booted.cmdline).toMatch(/\bintel_iommu=on\b/);
    expect(h.vfs.readOr('/etc/default/grub.d/pve-passthrough.cfg')).toMatch(/intel_iommu=on/);
  });

  it('PVE 9 on kernel 6.17 (Intel): no intel_iommu=on, the IOMMU is on by default', async () => {
    const h = await converge(solo('pve9-intel-grub-lvm', { devices: [{ address: '0000:01:00.0' }] }));
    expect(h.booted.cmdline).not.toMatch(/intel_iommu/);
    expect(h.driverOf('0000:01:00.0')).toBe('vfio-pci');
  });

  it('PVE 9 AMD on systemd-boot: iommu=pt goes into /etc/kernel/cmdline (root= kept), GRUB files untouched', async () => {
    const h = await converge(solo('pve9-amd-sdboot-zfs', { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true }));
    expect(h.booted.cmdline).toMatch(/\biommu=pt\b/);
    expect(h.booted.cmdline).not.toMatch(/amd_iommu=on/);
    expect(h.vfs.readOr('/etc/kernel/cmdline')).toMatch(/^root=ZFS=\S+ .*iommu=pt/);
    expect(h.vfs.exists('/etc/default/grub.d/pve-passthrough.cfg')).toBe(false);
  });

  it('PVE 7 on kernel 5.15: vfio_virqfd is listed and loads', async () => {
    const pci = hosts.PROFILES['pve7-5.15']!.pci.map((d) => (d.address === '0000:02:00.0' ? { ...d, bootVga: false } : d));
    const h = await converge(solo('pve7-5.15', { devices: [{ address: '0000:02:00.0' }] }, { overrides: { pci } }));
    expect(h.vfs.readOr('/etc/modules-load.d/pve-passthrough.conf')).toMatch(/^vfio_virqfd$/m);
    expect(h.booted.failedUnits).toEqual([]);
  });

  it('GRUB on proxmox-boot-tool ESPs (ZFS, legacy BIOS): refreshed with proxmox-boot-tool', async () => {
    const h = await converge(solo('pve84-intel-zfs-bios', { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true }));
    expect(h.booted.cmdline).toMatch(/\biommu=pt\b/);
    expect(h.commandLog.some((s) => s.includes("'proxmox-boot-tool' 'refresh'"))).toBe(true);
  });

  it('plain Debian without PVE: carries on with a warning', async () => {
    tf = await testFleet(solo('debian-plain-grub', { devices: [{ address: '0000:01:00.0' }] }));
    const p = await plan(tf.inventory, fast);
    expect(p.clusters[0]!.nodes[0]!.warnings.map((w) => w.message).join('\n')).toMatch(/not PVE/);
    const report = await apply(tf.inventory, fast);
    expect(report.ok).toBe(true);
    expect(tf.fleet.host('n1').state.driverOf('0000:01:00.0')).toBe('vfio-pci');
  });

  it('plain Debian without an API or pvecm: a needed reboot goes ahead (no corosync.conf: standalone)', async () => {
    const h = await converge(solo('debian-plain-grub', { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true }));
    expect(tf!.fleet.host('n1').reboots).toBe(1);
    expect(h.booted.cmdline).toMatch(/\biommu=pt\b/);
    // /etc/modules-load.d/modules.conf -> ../modules, as on every Debian install, is left alone.
    expect(h.vfs.get('/etc/modules-load.d/modules.conf', false)?.kind).toBe('link');
  });

  it('identical NICs, one carrying management: the other port is bound by address and the twin keeps its driver', async () => {
    const h = await converge(solo('twin-nics', { devices: [{ address: '0000:05:00.1', allFunctions: false }] }));
    expect(h.driverOf('0000:05:00.1')).toBe('vfio-pci');
    expect(h.driverOf('0000:05:00.0')).toBe('i40e');
    const modprobe = h.vfs.readOr('/etc/modprobe.d/pve-passthrough.conf') ?? '';
    expect(modprobe).not.toMatch(/ids=.*8086:1572/);
    expect(modprobe).toMatch(/^install vfio-pci echo vfio-pci > \/sys\/bus\/pci\/devices\/0000:05:00\.1\/driver_override; modprobe -i vfio-pci \$CMDLINE_OPTS$/m);
    expect(modprobe).toMatch(/^softdep i40e pre: vfio-pci$/m);
  });
});

describe('profiles that are refused, with the reason', () => {
  it('identical NICs with bind "ids": refused, it would take the management port too', async () => {
    const n = await refusedPlan(solo('twin-nics', { devices: [{ address: '0000:05:00.1', allFunctions: false, bind: 'ids' }] }));
    expect(n.steps.filter((s) => s.kind === 'write-file' && s.path.includes('modprobe'))).toEqual([]);
    expect(n.refused.map((r) => r.reason).join('\n')).toMatch(/0000:05:00\.0/);
  });

  it('identical NICs whose driver is built into the next kernel: binding by address is refused, nothing written', async () => {
    const builtin = { '/lib/modules/6.17.2-1-pve/modules.builtin': 'kernel/drivers/pci/hotplug/acpiphp.ko\nkernel/drivers/net/ethernet/intel/i40e/i40e.ko\n' };
    const n = await refusedPlan(solo('twin-nics', { devices: [{ address: '0000:05:00.1', allFunctions: false }] }, { overrides: { files: builtin } }));
    expect(n.refused.map((r) => r.reason).join('\n')).toMatch(/i40e is built into kernel 6\.17\.2-1-pve \(modules\.builtin\)/);
    expect(n.steps.filter((s) => s.kind === 'write-file' && s.path.includes('modprobe'))).toEqual([]);
  });

  it('the management NIC sits in the GPU\'s IOMMU group: refused', async () => {
    const n = await refusedPlan(solo('mgmt-in-target-group', { devices: [{ address: '0000:01:00.0' }] }));
    expect(n.refused.map((r) => r.reason).join('\n')).toMatch(/0000:02:00\.0 \(in its IOMMU group 14\) carries the management network \(interface enp2s0: vmbr0 -> enp2s0 \(default route\)/);
  });

  it('a consumer board whose GPU shares a group with a NIC and SATA: refused', async () => {
    const n = await refusedPlan(solo('consumer-bad-group', { devices: [{ address: '0000:07:00.0' }] }));
    expect(n.refused.map((r) => r.reason).join('\n')).toMatch(/IOMMU group 2 also holds 0000:01:00\.1 SATA controller .*0000:08:00\.0 Ethernet controller/);
    expect(n.steps).toEqual([]);
  });

  it('a symlink in /etc/modprobe.d (its target unread): the node is refused, nothing written', async () => {
    tf = await testFleet(solo('pve9-intel-grub-lvm', { devices: [{ address: '0000:01:00.0' }] }));
    tf.fleet.host('n1').state.vfs.symlink('/etc/modprobe.d/nvidia.conf', '/opt/vendor/nvidia.conf');
    const n = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(n.steps).toEqual([]);
    expect(n.refused.map((r) => r.reason).join('\n')).toMatch(/\/etc\/modprobe\.d\/nvidia\.conf is a symlink/);
  });

  it('the IOMMU is off in the firmware: nothing is changed and the fix is named', async () => {
    const n = await refusedPlan(solo('firmware-iommu-off', { devices: [{ address: '0000:01:00.0' }] }));
    expect(n.steps).toEqual([]);
    expect(n.refused.map((r) => `${r.reason} ${r.fix ?? ''}`).join('\n')).toMatch(/firmware|BIOS|VT-d/i);
  });
});
