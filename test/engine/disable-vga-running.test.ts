/**
 * disableVga judged on the running system, over the simulated fleet with real SSH (issue 13):
 * vfio-pci reads disable_vga once, when it loads (drivers/vfio/pci/vfio_pci.c, S_IRUGO), so a
 * vfio-pci loaded before the option was written runs without it. verify reads
 * /sys/module/vfio_pci/parameters/disable_vga (vfio-disable-vga-running), and the plan reboots
 * for it when nothing else would. The simulator sets the file from kmod's rules at each load
 * (mocks/hosts/README.md; order against real kmod in test/mocks/hosts/kmod-parity.test.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan, verify } from '../../src/index.js';
import type { Check } from '../../src/operations/types.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };
const PARAM = '/sys/module/vfio_pci/parameters/disable_vga';
const GPU_VGA = { devices: [{ address: '0000:01:00.0', disableVga: true }], iommuPassthrough: true };
const REASON = 'vfio-pci runs with disable_vga=N (it reads the option only when it loads); the next boot loads it with disable_vga=1';

function solo(profile: string, declare: Record<string, unknown>, overrides?: Record<string, unknown>) {
  return { clusters: [{ name: 'c', standalone: true, api: false, policy: { reboot: 'needed' }, nodes: [{ name: 'n1', profile, declare, ...(overrides ? { overrides } : {}) }] }] };
}

async function checks(t: TestFleet): Promise<Record<string, Check>> {
  const v = await verify(t.inventory, fast);
  return Object.fromEntries(v.nodes[0]!.checks.map((c) => [c.id, c]));
}

describe('vfio-pci loaded before disable_vga=1 existed', () => {
  it('loaded by hand on a fresh host: verify fails the running check; apply and its reboot make it pass', async () => {
    tf = await testFleet(solo('pve9-intel-grub-lvm', GPU_VGA), { rebootDelayMs: 50 });
    const h = tf.fleet.host('n1').state;
    expect(h.exec("'modprobe' 'vfio-pci'").code).toBe(0);
    expect(h.vfs.readOr(PARAM)).toBe('N\n');

    const before = await checks(tf);
    expect(before['vfio-disable-vga-running']).toMatchObject({ status: 'fail', evidence: `${PARAM}: N`, message: expect.stringMatching(/fix: apply first/) });
    expect(before['vfio-disable-vga']?.status).toBe('fail');

    const report = await apply(tf.inventory, fast);
    expect(report.ok, JSON.stringify(report.nodes, null, 1)).toBe(true);
    expect(report.nodes[0]).toMatchObject({ outcome: 'applied', rebooted: true });
    expect(h.vfs.readOr(PARAM)).toBe('Y\n');
    const after = await checks(tf);
    expect(after['vfio-disable-vga-running']).toMatchObject({ status: 'pass', evidence: `${PARAM}: Y` });
    expect(after['vfio-disable-vga']?.status).toBe('pass');
  });

  it('under reboot "never", apply writes the option and leaves the node applied with the reboot pending, not failed', async () => {
    tf = await testFleet(solo('pve9-intel-grub-lvm', GPU_VGA), { rebootDelayMs: 50 });
    const h = tf.fleet.host('n1').state;
    expect(h.exec("'modprobe' 'vfio-pci'").code).toBe(0);
    const report = await apply(tf.inventory, { ...fast, reboot: 'never' });
    expect(report.nodes[0]).toMatchObject({ outcome: 'applied', rebooted: false, rebootPending: true });
    expect(report.nodes[0]!.checks.find((c) => c.id === 'vfio-disable-vga-running')).toMatchObject({ status: 'fail', message: expect.stringMatching(/fix: reboot/) });
    expect(report.nodes[0]!.checks.find((c) => c.id === 'reboot-pending')).toMatchObject({ status: 'fail', message: expect.stringContaining(REASON) });
    expect(h.vfs.readOr(PARAM)).toBe('N\n');
  });

  it('configured by hand, the option added later without a reboot: plan writes nothing but reboots for it; under reboot "never" it waits', async () => {
    // Booted the PVE-docs way but without disable_vga=1 (the GPU is on vfio-pci), then the operator
    // added it to vfio.conf and refreshed the initramfs, and did not reboot.
    const bootedWithout = { files: { '/etc/modprobe.d/vfio.conf': 'options vfio-pci ids=10de:2484,10de:228b\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n' } };
    tf = await testFleet(solo('pve9-hand-vfio', GPU_VGA, bootedWithout), { rebootDelayMs: 50 });
    const h = tf.fleet.host('n1').state;
    expect(h.driverOf('0000:01:00.0')).toBe('vfio-pci');
    h.drift.writeFile('/etc/modprobe.d/vfio.conf', 'options vfio-pci ids=10de:2484,10de:228b disable_vga=1\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n');
    expect(h.exec("'update-initramfs' '-u' '-k' 'all'").code).toBe(0);
    expect(h.vfs.readOr(PARAM)).toBe('N\n');

    const before = await checks(tf);
    expect(before['vfio-disable-vga']?.status).toBe('pass');
    expect(before['vfio-disable-vga-running']).toMatchObject({ status: 'fail', message: expect.stringMatching(/fix: reboot \(reloading vfio-pci would unbind 0000:01:00\.0, 0000:01:00\.1/) });
    expect(before['reboot-pending']).toMatchObject({ status: 'fail', message: expect.stringContaining(REASON) });
    expect(before['config-applied']?.status).toBe('pass');

    const p = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(p.steps.map((s) => s.kind)).toEqual(['reboot']);
    expect(p.rebootReasons).toEqual([REASON]);

    const waiting = await apply(tf.inventory, { ...fast, reboot: 'never' });
    expect(waiting.nodes[0]).toMatchObject({ outcome: 'unchanged', rebootPending: true, message: expect.stringContaining(REASON) });
    expect(h.reboots).toBe(0);

    const etc = [...h.vfs.walkFiles('/etc')].map((f) => `${f}\n${h.vfs.readOr(f)}`).join('\n');
    const report = await apply(tf.inventory, fast);
    expect(report.ok, JSON.stringify(report.nodes, null, 1)).toBe(true);
    expect(report.nodes[0]).toMatchObject({ outcome: 'applied', rebooted: true, stepsDone: 1 }); // the reboot, nothing written
    expect([...h.vfs.walkFiles('/etc')].map((f) => `${f}\n${h.vfs.readOr(f)}`).join('\n')).toBe(etc);
    expect(h.vfs.readOr(PARAM)).toBe('Y\n');
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
    expect((await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!.steps).toEqual([]);
  });
});
