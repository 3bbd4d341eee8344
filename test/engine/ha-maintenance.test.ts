/**
 * HA maintenance around a node's reboot, over the simulated cluster (real SSH
 * and HTTPS). pve-docs ha-manager.adoc: `ha-manager crm-command
 * node-maintenance enable NODE` (PVE >= 7.3) makes HA move the node's
 * services away; `… disable NODE` brings them back; maintenance survives a
 * reboot, so the tool must disable it on every path. The simulated API moves
 * started HA resources like the CRM (mocks/api/state.ts setMaintenance).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan, verify } from '../../src/index.js';
import { gpuNode, haCommands, testFleet, type TestFleet } from '../helpers/fleet.js';

const OWNED = '/etc/modprobe.d/pve-passthrough.conf';
const MARKER = '/var/lib/pve-passthrough/ha-maintenance';
let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };

function scenario(pve1: Record<string, unknown> = {}) {
  return {
    clusters: [{
      name: 'c',
      nodes: [gpuNode('pve1', pve1), { name: 'pve2', profile: 'pve9-intel-grub-lvm' }, { name: 'pve3', profile: 'pve9-intel-grub-lvm' }],
      vms: [{ vmid: 201, node: 'pve1', status: 'running', config: { name: 'ha-web' } }],
      ha: [{ sid: 'vm:201' }],
    }],
  };
}

/** Where VM 201 is, and whether pve1 is in maintenance, at the moment pve1 goes down and at the moment it is back (the simulator's onDownChange, no sampling). */
function watchWhileDown(t: TestFleet) {
  const api = t.fleet.cluster('c').api!.state;
  const seen: { vmNode: string; maintenance: boolean }[] = [];
  const stop = t.fleet.host('pve1').onDownChange(() => {
    seen.push({ vmNode: api.vms.get(201)!.node, maintenance: api.maintenance.has('pve1') });
  });
  return { seen, stop };
}


describe('HA maintenance', () => {
  it('moves the HA resources off the node before its reboot and disables maintenance after verification (they come back)', async () => {
    tf = await testFleet(scenario());
    const api = tf.fleet.cluster('c').api!.state;
    const w = watchWhileDown(tf);
    const report = await apply(tf.inventory, fast);
    w.stop();
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
    expect(report.nodes.find((n) => n.node === 'pve1')).toMatchObject({ outcome: 'applied', rebooted: true });
    expect(w.seen.length).toBe(2);
    // While pve1 was down, the VM ran elsewhere and pve1 was in maintenance.
    for (const s of w.seen) expect(s).toEqual({ vmNode: expect.not.stringMatching(/^pve1$/), maintenance: true });
    expect(haCommands(tf)).toEqual(['enable', 'reboot', 'disable']);
    await api.tasks.idle();
    expect(api.maintenance.size).toBe(0);
    // Not shut down by the tool (HA moved it); back home once maintenance ended.
    expect(api.tasks.all().filter((t) => t.type === 'qmshutdown')).toEqual([]);
    expect(api.vms.get(201)!.node).toBe('pve1');
    expect(api.vms.get(201)!.status).toBe('running');
    // The marker lived only while maintenance was on.
    expect(tf.fleet.host('pve1').state.vfs.readOr(MARKER)).toBeNull();
    expect(tf.fleet.host('pve1').state.commandLog.some((c) => c.includes(MARKER))).toBe(true);
  });

  it('disables maintenance when verification fails after the reboot', async () => {
    tf = await testFleet(scenario());
    const api = tf.fleet.cluster('c').api!.state;
    const host = tf.fleet.host('pve1');
    // Someone empties the tool's file while the node is down: it boots without the binding, verification fails.
    let drifted = false;
    const stop = host.onDownChange((down) => {
      if (!drifted && down) {
        host.state.drift.writeFile(OWNED, '# emptied while the node was down\n');
        drifted = true;
      }
    });
    const report = await apply(tf.inventory, fast);
    stop();
    expect(drifted).toBe(true);
    const n1 = report.nodes.find((n) => n.node === 'pve1')!;
    expect(n1.outcome).toBe('failed');
    expect(n1.error?.code).toBe('E_VERIFY');
    expect(haCommands(tf)).toEqual(['enable', 'reboot', 'disable']);
    await api.tasks.idle();
    expect(api.maintenance.size).toBe(0);
    expect(api.vms.get(201)!.node).toBe('pve1');
  });

  it('PVE older than 7.3 (no node-maintenance): the reboot is refused with the reason before anything is written', async () => {
    tf = await testFleet(scenario({ overrides: { pveVersion: 'pve-manager/7.2-3/c743d6c1' } }));
    const host = tf.fleet.host('pve1');
    const report = await apply(tf.inventory, fast);
    const n1 = report.nodes.find((n) => n.node === 'pve1')!;
    expect(n1.outcome).toBe('failed');
    expect(n1.error?.code).toBe('E_HA_MAINTENANCE');
    expect(n1.message).toContain('vm:201');
    expect(n1.message).toContain('PVE 7.3');
    expect(n1.error?.fix).toMatch(/upgrade the node to PVE 7\.3/);
    expect(host.reboots).toBe(0);
    expect(host.state.vfs.readOr(OWNED)).toBeNull();
    expect(haCommands(tf)).toEqual([]);
  });

  it('a run that died while the node was in maintenance: verify fails, plan shows the step, apply ends it; an operator\'s own maintenance is left alone', async () => {
    tf = await testFleet(scenario());
    const api = tf.fleet.cluster('c').api!.state;
    const host = tf.fleet.host('pve1');
    expect((await apply(tf.inventory, fast)).ok).toBe(true);
    await api.tasks.idle();
    // What a SIGKILL between enable and disable leaves (maintenance survives reboots): the marker and the mode.
    host.state.drift.writeFile(MARKER, 'run=20261205T090000Z-dead01\n');
    await api.setMaintenance('pve1', true);
    expect(api.vms.get(201)!.node).not.toBe('pve1');

    const v = await verify(tf.inventory, fast);
    expect(v.verdict).toBe('drift');
    const check = v.nodes.find((n) => n.node === 'pve1')!.checks.find((c) => c.id === 'ha-maintenance');
    expect(check).toMatchObject({ status: 'fail' });
    expect(check!.message).toContain('20261205T090000Z-dead01');
    expect(check!.message).toContain('node-maintenance disable pve1');

    const p = await plan(tf.inventory, fast);
    const steps = p.clusters[0]!.nodes.find((n) => n.node === 'pve1')!.steps;
    expect(steps).toEqual([{ kind: 'leave-ha-maintenance', run: '20261205T090000Z-dead01', reason: expect.stringContaining('did not finish') }]);

    const before = haCommands(tf).length;
    const report = await apply(tf.inventory, fast);
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
    expect(report.nodes.find((n) => n.node === 'pve1')).toMatchObject({ outcome: 'applied', rebooted: false });
    expect(haCommands(tf).slice(before)).toEqual(['disable']);
    await api.tasks.idle();
    expect(api.maintenance.has('pve1')).toBe(false);
    expect(api.vms.get(201)!.node).toBe('pve1');
    expect(host.state.vfs.readOr(MARKER)).toBeNull();
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');

    // Maintenance the operator turned on (no marker) is theirs: no step, no check failing, nothing sent.
    await api.setMaintenance('pve1', true);
    const again = haCommands(tf).length;
    expect(p.clusters[0]!.nodes.length).toBeGreaterThan(0);
    expect((await plan(tf.inventory, fast)).clusters[0]!.nodes.find((n) => n.node === 'pve1')!.steps).toEqual([]);
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
    expect((await apply(tf.inventory, fast)).ok).toBe(true);
    expect(haCommands(tf).slice(again)).toEqual([]);
    expect(api.maintenance.has('pve1')).toBe(true);
  });

  it('maintenance a dead run left on a node that still has to reboot: kept for this run\'s reboot (the resource stays away) and ended after it', async () => {
    tf = await testFleet(scenario());
    const api = tf.fleet.cluster('c').api!.state;
    const host = tf.fleet.host('pve1');
    // Killed after enabling maintenance and before writing: the files are still to be written, the node still has to reboot.
    host.state.drift.writeFile(MARKER, 'run=20261205T090000Z-dead02\n');
    await api.setMaintenance('pve1', true);
    const w = watchWhileDown(tf);
    const report = await apply(tf.inventory, fast);
    w.stop();
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
    expect(report.nodes.find((n) => n.node === 'pve1')).toMatchObject({ outcome: 'applied', rebooted: true });
    // While pve1 was down the HA VM ran elsewhere: maintenance was not ended before the reboot.
    expect(w.seen.length).toBeGreaterThan(0);
    for (const s of w.seen) expect(s).toEqual({ vmNode: expect.not.stringMatching(/^pve1$/), maintenance: true });
    expect(haCommands(tf).filter((c) => c !== 'enable')).toEqual(['reboot', 'disable']);
    await api.tasks.idle();
    expect(api.maintenance.size).toBe(0);
    expect(api.vms.get(201)).toMatchObject({ node: 'pve1', status: 'running' });
    expect(host.state.vfs.readOr(MARKER)).toBeNull();
  });
});
