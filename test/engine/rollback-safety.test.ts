/**
 * rollback changes files and reboots, so it follows apply's safety rules
 * (docs/safety.md), over the simulated cluster (real SSH and HTTPS):
 * - it takes the run lease: while another run holds the cluster's lease it
 *   refuses, naming the holder, and restores nothing;
 * - the reboot slot, the guests and HA are decided before the first restore:
 *   with guests "refuse" and a VM running, nothing is restored;
 * - a node with HA resources goes through HA maintenance around the rollback's
 *   reboot, which is ended afterwards (the resources come back).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, rollback } from '../../src/index.js';
import { CLUSTER_LEASE, renderLease } from '../../src/engine/lease.js';
import { gpuNode, haCommands, testFleet, type TestFleet } from '../helpers/fleet.js';

const OWNED = '/etc/modprobe.d/pve-passthrough.conf';
const fast = { pollMs: 20 };
let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});

function scenario(o: { guests?: 'refuse' | 'shutdown'; vm?: Record<string, unknown>; ha?: boolean } = {}) {
  return {
    clusters: [{
      name: 'c',
      policy: { guests: o.guests ?? 'shutdown' },
      nodes: [gpuNode('pve1'), { name: 'pve2', profile: 'pve9-intel-grub-lvm' }, { name: 'pve3', profile: 'pve9-intel-grub-lvm' }],
      vms: o.vm ? [o.vm] : [],
      ha: o.ha ? [{ sid: `vm:${String(o.vm!.vmid)}` }] : [],
    }],
  };
}


describe('rollback under apply\'s safety rules', () => {
  it('refuses while another run holds the cluster lease, naming it, and restores nothing', async () => {
    tf = await testFleet(scenario());
    expect((await apply(tf.inventory, fast)).ok).toBe(true);
    const host = tf.fleet.host('pve1').state;
    const written = host.vfs.readOr(OWNED);
    expect(written).not.toBeNull();
    const now = host.nowSeconds();
    host.drift.writeFile(CLUSTER_LEASE.record, renderLease({ run: '20261205T060000Z-live00', holder: 'carol@desk', started: now, renewed: now, ttl: 600 }));
    const r = await rollback(tf.inventory, { ...fast, node: 'pve1' });
    expect(r.result.outcome).toBe('failed');
    expect(r.result.error?.code).toBe('E_LEASE_HELD');
    expect(r.result.message).toContain('carol@desk');
    expect(host.vfs.readOr(OWNED)).toBe(written);
    expect(tf.fleet.host('pve1').reboots).toBe(1);
  });

  it('with guests "refuse" and a VM running, refuses before restoring anything', async () => {
    tf = await testFleet(scenario({ vm: { vmid: 150, node: 'pve1', status: 'running', config: { name: 'busy' } } }));
    expect((await apply(tf.inventory, fast)).ok).toBe(true);
    const host = tf.fleet.host('pve1').state;
    const written = host.vfs.readOr(OWNED);
    expect(written).not.toBeNull();
    expect(tf.fleet.cluster('c').api!.state.vms.get(150)!.status).toBe('running');
    const refuse = { ...tf.inventory, clusters: tf.inventory.clusters.map((c) => ({ ...c, policy: { ...c.policy, guests: 'refuse' as const } })) };
    const r = await rollback(refuse, { ...fast, node: 'pve1' });
    expect(r.result.outcome).toBe('failed');
    expect(r.result.error?.code).toBe('E_GUESTS_RUNNING');
    expect(r.result.message).toContain('VM 150');
    expect(host.vfs.readOr(OWNED)).toBe(written);
    expect(tf.fleet.host('pve1').reboots).toBe(1);
  });

  it('a node with an HA resource: HA maintenance around the rollback\'s reboot, ended after it; the resource comes back', async () => {
    tf = await testFleet(scenario({ vm: { vmid: 201, node: 'pve1', status: 'running', config: { name: 'ha-web' } }, ha: true }));
    expect((await apply(tf.inventory, fast)).ok).toBe(true);
    const before = haCommands(tf).length;
    const r = await rollback(tf.inventory, { ...fast, node: 'pve1' });
    expect(r.result, JSON.stringify(r, null, 1)).toMatchObject({ outcome: 'applied', rebooted: true });
    expect(haCommands(tf).slice(before)).toEqual(['enable', 'reboot', 'disable']);
    const api = tf.fleet.cluster('c').api!.state;
    await api.tasks.idle();
    expect(api.maintenance.size).toBe(0);
    expect(api.vms.get(201)).toMatchObject({ node: 'pve1', status: 'running' });
    expect(tf.fleet.host('pve1').state.vfs.readOr(OWNED)).toBeNull();
  });
});
