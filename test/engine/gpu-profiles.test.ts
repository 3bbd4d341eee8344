/**
 * Issue 15 through the simulated fleet (real SSH, real HTTPS API): GPU
 * passthrough the way people run it, and the same host safety for every path
 * to a VM. Each case is planned, applied and verified like test/engine/profiles.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan } from '../../src/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };

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
