/**
 * Live rebinding over real sockets against the simulated fleet: a node whose
 * running kernel already has the IOMMU on moves its device to vfio-pci without
 * a reboot, writes the persistent config, and verifies; the same node with
 * --reboot=always reboots instead; a node that still needs a token reboots.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan, verify } from '../../src/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

const GPU = '0000:01:00.0';
let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});

function scenario(nodes: Record<string, unknown>[]) {
  return { name: 'live', clusters: [{ name: 'lab', standalone: nodes.length === 1, policy: { reboot: 'needed' }, nodes }] };
}
// PVE 9 on 6.17: the IOMMU is on without any token; the GPU (nouveau) and its audio function.
const liveNode = (name: string) => ({ name, profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: GPU, allFunctions: true }] } });
// The same host asking for iommu=pt: the token is missing from /proc/cmdline, so it reboots.
const tokenNode = (name: string) => ({ name, profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: GPU, allFunctions: true }], iommuPassthrough: true } });

const opts = { pollMs: 20 };

describe('live rebinding', () => {
  it('binds vfio-pci without a reboot, keeps the persistent config, verifies, and the next plan is empty', async () => {
    tf = await testFleet(scenario([liveNode('pve1')]), { rebootDelayMs: 50 });
    const host = tf.fleet.host('pve1');
    const bootId = host.state.exec('cat /proc/sys/kernel/random/boot_id').stdout;
    const p = await plan(tf.inventory, opts);
    const np = p.clusters[0]!.nodes[0]!;
    expect(np.rebootReasons).toEqual([]);
    expect(np.steps.filter((s) => s.kind === 'live-bind').map((s) => s.kind === 'live-bind' && [s.address, s.from])).toEqual([
      [GPU, 'nouveau'], ['0000:01:00.1', 'snd_hda_intel'],
    ]);
    expect(np.steps.some((s) => s.kind === 'reboot')).toBe(false);

    const r = await apply(tf.inventory, { ...opts, plan: p });
    expect(r.nodes[0]).toMatchObject({ outcome: 'applied', rebooted: false });
    expect(host.state.exec('cat /proc/sys/kernel/random/boot_id').stdout).toBe(bootId);
    expect(host.state.driverOf(GPU)).toBe('vfio-pci');
    expect(host.state.driverOf('0000:01:00.1')).toBe('vfio-pci');
    expect(host.state.vfs.readOr('/etc/modprobe.d/pve-passthrough.conf')).toContain('softdep nouveau pre: vfio-pci');
    expect(host.state.incidents).toEqual([]);
    expect(host.state.violations).toEqual([]);

    expect((await verify(tf.inventory, opts)).verdict).toBe('compliant');
    const again = await plan(tf.inventory, opts);
    expect(again.clusters[0]!.nodes[0]!.steps).toEqual([]);

    // The next boot agrees with the live state.
    host.state.exec('systemctl reboot');
    host.state.completeReboot();
    expect(host.state.driverOf(GPU)).toBe('vfio-pci');
    expect((await verify(tf.inventory, opts)).verdict).toBe('compliant');
  });

  it('--reboot=always: no live steps: the node reboots and vfio-pci binds at boot', async () => {
    tf = await testFleet(scenario([liveNode('pve1')]), { rebootDelayMs: 50 });
    const p = await plan(tf.inventory, { ...opts, reboot: 'always' });
    const np = p.clusters[0]!.nodes[0]!;
    expect(np.steps.some((s) => s.kind === 'live-bind')).toBe(false);
    const reboot = np.steps.find((s) => s.kind === 'reboot');
    expect(reboot?.kind === 'reboot' && reboot.reasons).toContain(`device ${GPU} is bound to nouveau; vfio-pci takes it at the next boot`);
    const r = await apply(tf.inventory, { ...opts, reboot: 'always', plan: p });
    expect(r.nodes[0]).toMatchObject({ outcome: 'applied', rebooted: true });
    expect(tf.fleet.host('pve1').state.driverOf(GPU)).toBe('vfio-pci');
  });

  it('a missing cmdline token means a reboot, with that token as the reason, and no live steps', async () => {
    tf = await testFleet(scenario([tokenNode('pve1')]), { rebootDelayMs: 50 });
    const p = await plan(tf.inventory, opts);
    const np = p.clusters[0]!.nodes[0]!;
    expect(np.rebootReasons).toContain('cmdline token iommu=pt missing from /proc/cmdline');
    expect(np.steps.some((s) => s.kind === 'live-bind')).toBe(false);
  });

  it('rolling policy: only the nodes that need it reboot', async () => {
    tf = await testFleet({ name: 'mixed', clusters: [{ name: 'lab', policy: { reboot: 'needed' }, nodes: [liveNode('pve1'), tokenNode('pve2'), liveNode('pve3')] }] }, { rebootDelayMs: 50 });
    const r = await apply(tf.inventory, opts);
    const by = Object.fromEntries(r.nodes.map((n) => [n.node, n]));
    expect(by.pve1).toMatchObject({ outcome: 'applied', rebooted: false });
    expect(by.pve2).toMatchObject({ outcome: 'applied', rebooted: true });
    expect(by.pve3).toMatchObject({ outcome: 'applied', rebooted: false });
    for (const n of ['pve1', 'pve2', 'pve3']) expect(tf.fleet.host(n).state.driverOf(GPU)).toBe('vfio-pci');
  });
});
