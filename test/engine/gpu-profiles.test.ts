/**
 * Issue 15 through the simulated fleet (real SSH, real HTTPS API): GPU
 * passthrough the way people run it, and the same host safety for every path
 * to a VM. Each case is planned, applied and verified like test/engine/profiles.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan, verify } from '../../src/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };

function solo(profile: string, declare: Record<string, unknown>) {
  return { clusters: [{ name: 'c', standalone: true, api: false, policy: { reboot: 'needed' }, nodes: [{ name: 'n1', profile, declare }] }] };
}

async function converge(scenario: unknown) {
  tf = await testFleet(scenario);
  const report = await apply(tf.inventory, fast);
  expect(report.ok, JSON.stringify(report.nodes, null, 1)).toBe(true);
  const v = await verify(tf.inventory, fast);
  expect(v.verdict, JSON.stringify(v, null, 1)).toBe('compliant');
  expect((await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!.steps).toEqual([]);
  return tf.fleet.host('n1').state;
}

const GPU_DEVICE = (address: string) => ({ devices: [{ address }] });

describe('the boot GPU by choice', () => {
  it('a single-GPU host: refused by default, the fix names the setting, nothing written', async () => {
    tf = await testFleet(solo('single-gpu', GPU_DEVICE('0000:0a:00.0')));
    const n = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(n.refused).toEqual([expect.objectContaining({ reason: expect.stringMatching(/boot GPU \(boot_vga = 1\) and the host has no other display device/), fix: expect.stringMatching(/"console": "headless"/) })]);
    expect(n.steps.filter((s) => s.kind === 'write-file')).toEqual([]);
  });

  it('a single-GPU host with "console": "headless": converges, the next boot carries initcall_blacklist=sysfb_init, BOOTFB is gone, verify is green', async () => {
    tf = await testFleet(solo('single-gpu', { ...GPU_DEVICE('0000:0a:00.0'), console: 'headless' }));
    const n = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(n.refused).toEqual([]);
    expect(n.warnings.map((w) => w.message).join('\n')).toMatch(/host console goes dark/);
    await tf.close();
    tf = null;
    const h = await converge(solo('single-gpu', { ...GPU_DEVICE('0000:0a:00.0'), console: 'headless' }));
    expect(h.booted.cmdline).toMatch(/\binitcall_blacklist=sysfb_init\b/);
    expect(h.driverOf('0000:0a:00.0')).toBe('vfio-pci');
    expect(h.vfs.readOr('/proc/iomem')).not.toMatch(/BOOTFB/);
    expect(h.vfs.readOr('/etc/modprobe.d/pve-passthrough.conf')).not.toMatch(/^blacklist/m);
  });

  it('a primary discrete GPU with an iGPU present: planned with a warning and the token, and converges', async () => {
    tf = await testFleet(solo('primary-dgpu-igpu', GPU_DEVICE('0000:01:00.0')));
    const n = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(n.refused).toEqual([]);
    expect(n.warnings.map((w) => w.message).join('\n')).toMatch(/host console moves to 0000:00:02\.0 \(i915\)/);
    expect(n.steps.some((s) => s.kind === 'write-file' && s.after.includes('initcall_blacklist=sysfb_init'))).toBe(true);
    await tf.close();
    tf = null;
    const h = await converge(solo('primary-dgpu-igpu', GPU_DEVICE('0000:01:00.0')));
    expect(h.booted.cmdline).toMatch(/\binitcall_blacklist=sysfb_init\b/);
    expect(h.driverOf('0000:00:02.0')).toBe('i915');
  });
});

describe('a firmware framebuffer holding a target BAR', () => {
  it('verify fails naming the BAR and BOOTFB; the plan adds the token; after apply the BAR is free', async () => {
    tf = await testFleet(solo('bootfb-claims-bar', GPU_DEVICE('0000:01:00.0')));
    const before = await verify(tf.inventory, fast);
    expect(tf.fleet.host('n1').state.vfs.readOr('/proc/iomem')).toMatch(/^    4020000000-40207e8fff : BOOTFB$/m);
    const check = before.nodes[0]!.checks.find((c) => c.id === 'framebuffer-free:0000:01:00.0');
    expect(check).toMatchObject({ status: 'fail', message: expect.stringMatching(/^BAR 1 of 0000:01:00\.0 is held by BOOTFB: the VM will fail to start/) });
    const n = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(n.steps.some((s) => s.kind === 'write-file' && s.after.includes('initcall_blacklist=sysfb_init'))).toBe(true);
    await tf.close();
    tf = null;
    const h = await converge(solo('bootfb-claims-bar', GPU_DEVICE('0000:01:00.0')));
    expect(h.vfs.readOr('/proc/iomem')).not.toMatch(/BOOTFB/);
  });
});

describe('a VM and a mapping aimed at the management NIC', () => {
  const scenario = {
    name: 'mgmt-vm',
    clusters: [{
      name: 'lab', standalone: true, policy: { reboot: 'needed' },
      nodes: [{ name: 'pve1', profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }] } }],
      vms: [
        { vmid: 101, node: 'pve1', config: { name: 'raw', machine: 'q35' }, declare: { hostpci: [{ host: '0000:03:00.0', pcie: true }] } },
        { vmid: 102, node: 'pve1', config: { name: 'mapped', machine: 'q35' }, declare: { hostpci: [{ mapping: 'uplink', pcie: true }] } },
        { vmid: 103, node: 'pve1', config: { name: 'gpu', machine: 'q35', bios: 'ovmf' }, declare: { hostpci: [{ host: '0000:01:00', pcie: true }] } },
      ],
      mappings: [{ id: 'uplink', nodes: { pve1: '0000:03:00.0' } }],
    }],
  };

  it('both are refused in the plan with the node-device wording; apply writes neither, the GPU VM goes ahead', async () => {
    tf = await testFleet(scenario);
    const p = await plan(tf.inventory, fast);
    const c = p.clusters[0]!;
    const vm = (id: number) => c.vms.find((v) => v.vmid === id)!;
    const nodeWording = /the host needs it: 0000:03:00\.0 \(a function of the device\) carries the management network \(interface enp3s0: vmbr0 -> enp3s0 \(default route\)/;
    expect(vm(101).refused.map((r) => r.reason).join('\n')).toMatch(nodeWording);
    expect(vm(102).refused.map((r) => r.reason).join('\n')).toMatch(nodeWording);
    expect(vm(103).refused).toEqual([]);
    expect(c.mappings.map((m) => m.id)).toEqual([]);
    expect(c.warnings.map((w) => w.message).join('\n')).toMatch(/refused: node pve1 0000:03:00\.0: the host needs it/);

    const r = await apply(tf.inventory, { ...fast, plan: p });
    expect(r.vms.filter((v) => v.outcome === 'refused').map((v) => v.vmid).sort()).toEqual([101, 102]);
    const api = tf.fleet.cluster('lab').api!.state;
    expect(api.vms.get(101)!.file.current.has('hostpci0')).toBe(false);
    expect(api.vms.get(102)!.file.current.has('hostpci0')).toBe(false);
    expect(api.vms.get(103)!.file.current.get('hostpci0')).toBe('0000:01:00,pcie=1');
    expect(api.mappings.has("uplink")).toBe(false);
    expect(tf.fleet.host('pve1').state.driverOf('0000:03:00.0')).toBe('igb');
  });
});

describe('a whole-device mapping', () => {
  const scenario = {
    name: 'whole-device',
    clusters: [{
      name: 'lab', standalone: true, policy: { reboot: 'needed', guests: 'shutdown' },
      nodes: [{ name: 'pve1', profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }] } }],
      vms: [{ vmid: 110, node: 'pve1', status: 'running', config: { name: 'gpu', machine: 'q35', bios: 'ovmf', balloon: '0' }, declare: { hostpci: [{ mapping: 'rtx3070', pcie: true }], whenRunning: 'restart', allowStop: true } }],
      mappings: [{ id: 'rtx3070', description: 'RTX 3070 with its HDMI audio', nodes: { pve1: '0000:01:00' } }],
    }],
  };

  it('GPU + audio as one mapping entry: created as the official schema allows, used by a VM that starts', async () => {
    tf = await testFleet(scenario);
    const p = await plan(tf.inventory, fast);
    expect(p.clusters[0]!.mappings).toEqual([expect.objectContaining({ id: 'rtx3070', action: 'create', map: ['node=pve1,path=0000:01:00,id=10de:2484,subsystem-id=1043:87b8,iommugroup=14'] })]);
    expect(p.clusters[0]!.vms[0]!.refused).toEqual([]);
    const r = await apply(tf.inventory, { ...fast, plan: p });
    expect(r.ok, JSON.stringify(r, null, 1)).toBe(true);
    const api = tf.fleet.cluster('lab').api!.state;
    expect(api.mappings.get('rtx3070')!.map).toEqual(['node=pve1,path=0000:01:00,id=10de:2484,subsystem-id=1043:87b8,iommugroup=14']);
    expect(api.vms.get(110)!.file.current.get('hostpci0')).toBe('mapping=rtx3070,pcie=1');
    expect(api.vms.get(110)!.status).toBe('running');
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
  });
});
