/**
 * Over the simulated fleet (real SSH and HTTPS):
 * - plan says up front, in its text and in --json, when apply's reboot gate
 *   would refuse a node's reboot for quorum (a two-node cluster without a
 *   QDevice has no spare vote: corosync votequorum needs 2 of 2);
 * - guests "shutdown" with a VM that has onboot: 1: PVE (and the simulator,
 *   mocks/hosts pve-guests.service) starts it at boot, a while after SSH
 *   answers; the tool waits for that unit and does not start the VM a second
 *   time (which fails "already running" on PVE), and the node is reported
 *   applied. A running VM without onboot is started again by the tool.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan, verify } from '../../src/index.js';
import { gpuNode, testFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli } from '../safety/cli.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});

const fast = { pollMs: 20 };

describe('plan foresees the quorum refusal', () => {
  it('a two-node cluster without QDevice: plan (library, text and --json) says apply will refuse both reboots, and why', async () => {
    tf = await testFleet({ clusters: [{ name: 'duo', nodes: [gpuNode('n1'), gpuNode('n2')] }] });
    const p = await plan(tf.inventory, fast);
    const warning = p.clusters[0]!.warnings.find((w) => w.message.startsWith('apply will refuse to reboot'));
    expect(warning, JSON.stringify(p.clusters[0]!.warnings)).toBeDefined();
    expect(warning!.subject).toBe('cluster duo');
    expect(warning!.message).toContain('n1, n2');
    expect(warning!.message).toMatch(/quorum/i);

    const text = await runCli(['plan', '--inventory', tf.fleet.inventoryPath], { home: tf.dir });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('apply will refuse to reboot n1, n2');
    const json = await runCli(['plan', '--inventory', tf.fleet.inventoryPath, '--json'], { home: tf.dir });
    expect(json.code, json.stderr).toBe(0);
    const warnings = (JSON.parse(json.stdout) as { clusters: { warnings: { subject: string; message: string }[] }[] }).clusters[0]!.warnings;
    expect(warnings).toContainEqual({ subject: 'cluster duo', message: warning!.message });
  });

  it('a three-node cluster with a spare vote: no such warning (the warning can fail)', async () => {
    tf = await testFleet({ clusters: [{ name: 'trio', nodes: [gpuNode('n1'), gpuNode('n2'), gpuNode('n3')] }] });
    const p = await plan(tf.inventory, fast);
    expect(p.clusters[0]!.warnings.filter((w) => w.message.includes('apply will refuse to reboot'))).toEqual([]);
  });
});

describe('guests "shutdown" and onboot', () => {
  it('a VM with onboot: 1 is started by the boot, not a second time by the tool; the node is applied', async () => {
    tf = await testFleet({
      clusters: [{
        name: 'lab', standalone: true, policy: { reboot: 'needed', guests: 'shutdown' },
        // pve-guests.service takes 1.5 s after the boot: a tool that does not wait for it starts VM 101 first.
        nodes: [{ ...gpuNode('pve1'), faults: { guestsStartDelayMs: 1500 } }],
        vms: [
          { vmid: 101, node: 'pve1', status: 'running', config: { name: 'onboot', onboot: '1' } },
          { vmid: 102, node: 'pve1', status: 'running', config: { name: 'manual' } },
        ],
      }],
    });
    const api = tf.fleet.cluster('lab').api!.state;
    const report = await apply(tf.inventory, fast);
    expect(report.ok, JSON.stringify(report, null, 1)).toBe(true);
    expect(report.nodes.map((n) => [n.node, n.outcome])).toEqual([['pve1', 'applied']]);
    expect(tf.fleet.host('pve1').reboots).toBe(1);
    await api.tasks.idle();
    const tasks = api.tasks.all();
    // Both were shut down by the tool before the reboot.
    expect(tasks.filter((t) => t.type === 'qmshutdown').map((t) => t.id).sort()).toEqual(['101', '102']);
    // Only the VM the boot did not start was started by the tool; no start task failed.
    expect(tasks.filter((t) => t.type === 'qmstart').map((t) => t.id)).toEqual(['102']);
    expect(tasks.filter((t) => t.exitstatus !== undefined && t.exitstatus !== 'OK')).toEqual([]);
    expect(api.vms.get(101)!.status).toBe('running');
    expect(api.vms.get(102)!.status).toBe('running');
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
  });
});
