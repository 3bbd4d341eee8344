/**
 * Engine behaviour against the simulated fleet over real SSH and HTTPS:
 * rolling limits, the quorum gate, stopping a cluster on failure, stale
 * saved plans, and resuming after an interruption.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, plan, verify } from '../../src/index.js';
import { gpuNode, testFleet, watchDown, type TestFleet } from '../helpers/fleet.js';

const OWNED = '/etc/modprobe.d/pve-passthrough.conf';
let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});

const fast = { pollMs: 20 };

describe('rolling reboots', () => {
  it('never has more than maxUnavailable nodes of a cluster down (3 nodes, 1 at a time)', async () => {
    tf = await testFleet({ clusters: [{ name: 'c', nodes: [gpuNode('pve1'), gpuNode('pve2'), gpuNode('pve3')] }] }, { rebootDelayMs: 150 });
    const w = watchDown(tf.fleet);
    const report = await apply(tf.inventory, fast);
    w.stop();
    expect(report.ok).toBe(true);
    expect(w.max()).toBe(1);
    for (const n of ['pve1', 'pve2', 'pve3']) expect(tf.fleet.host(n).reboots).toBe(1);
  });

  it('3 nodes with maxUnavailable 2: never more down than quorum allows, and quorum holds throughout (watched at every reboot in the simulator)', async () => {
    tf = await testFleet({ clusters: [{ name: 'c', policy: { maxUnavailable: 2 }, nodes: [gpuNode('pve1'), gpuNode('pve2'), gpuNode('pve3')] }] }, { rebootDelayMs: 150 });
    const w = watchDown(tf.fleet);
    const report = await apply(tf.inventory, fast);
    w.stop();
    expect(report.ok).toBe(true);
    expect(w.max()).toBe(1);
    expect(w.lostQuorum()).toBe(0);
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
  });

  it('lets quorum and maxUnavailable decide together (5 nodes: quorum allows 2, policy 2)', async () => {
    tf = await testFleet({ clusters: [{ name: 'c', policy: { maxUnavailable: 2 }, nodes: ['a1', 'a2', 'a3', 'a4', 'a5'].map((n) => gpuNode(n)) }] }, { rebootDelayMs: 200 });
    const w = watchDown(tf.fleet);
    const report = await apply(tf.inventory, fast);
    w.stop();
    expect(report.ok).toBe(true);
    expect(w.max()).toBeLessThanOrEqual(2);
  });

  it('refuses every reboot of a 2-node cluster and writes nothing there', async () => {
    tf = await testFleet({ clusters: [{ name: 'duo', nodes: [gpuNode('n1'), gpuNode('n2')] }] });
    const report = await apply(tf.inventory, fast);
    expect(report.ok).toBe(false);
    for (const n of report.nodes) {
      expect(n.outcome).toBe('failed');
      expect(n.error?.code).toBe('E_QUORUM');
      expect(n.message).toMatch(/any reboot loses quorum/);
    }
    for (const n of ['n1', 'n2']) {
      expect(tf.fleet.host(n).reboots).toBe(0);
      expect(tf.fleet.host(n).state.vfs.exists(OWNED)).toBe(false);
    }
  });
});

describe('stopping a rollout', () => {
  it('stops the cluster after its canary fails; nodes after it stay untouched; other clusters finish', async () => {
    tf = await testFleet({
      clusters: [
        { name: 'c', policy: { canary: 'pve1' }, nodes: [gpuNode('pve1', { faults: { failCommand: { 'update-initramfs': 'update-initramfs: failed for /boot/initrd.img-6.17.2-1-pve with 1.' } } }), gpuNode('pve2'), gpuNode('pve3')] },
        { name: 'other', standalone: true, nodes: [gpuNode('solo')] },
      ],
    });
    const before = tf.fleet.host('pve1').state.vfs.readOr('/etc/default/grub');
    const report = await apply(tf.inventory, fast);
    const by = Object.fromEntries(report.nodes.map((n) => [n.node, n]));
    expect(by.pve1?.outcome).toBe('failed');
    expect(by.pve1?.message).toMatch(/update-initramfs -u -k all failed .*update-initramfs: failed for .*restored from its backup and no reboot was done/);
    expect(by.pve2?.outcome).toBe('skipped');
    expect(by.pve3?.outcome).toBe('skipped');
    expect(by.solo?.outcome).toBe('applied');
    expect(tf.fleet.host('pve1').reboots).toBe(0);
    expect(tf.fleet.host('pve1').state.vfs.exists(OWNED)).toBe(false);
    expect(tf.fleet.host('pve1').state.vfs.readOr('/etc/default/grub')).toBe(before);
    for (const n of ['pve2', 'pve3']) expect(tf.fleet.host(n).state.vfs.exists(OWNED)).toBe(false);
    expect(report.next.join('\n')).toMatch(/pve2: not touched because its cluster's rollout stopped/);
  });
});

describe('saved plans and resuming', () => {
  it('refuses a saved plan when the node changed since in a way that changes the plan', async () => {
    tf = await testFleet({ clusters: [{ name: 'c', standalone: true, nodes: [gpuNode('pve1')] }] });
    const saved = await plan(tf.inventory);
    // A hand-made owned file: the planner would now overwrite different content (`before` differs).
    tf.fleet.host('pve1').state.drift.writeFile(OWNED, 'options vfio-pci ids=10de:2204\n');
    await expect(apply(tf.inventory, { ...fast, plan: JSON.parse(JSON.stringify(saved)) })).rejects.toMatchObject({ code: 'E_PLAN_DIFFERS' });
    expect(tf.fleet.host('pve1').state.vfs.readOr(OWNED)).toBe('options vfio-pci ids=10de:2204\n');
  });

  it('applies a saved plan whose facts still hold', async () => {
    tf = await testFleet({ clusters: [{ name: 'c', standalone: true, nodes: [gpuNode('pve1')] }] });
    const saved = JSON.parse(JSON.stringify(await plan(tf.inventory)));
    const report = await apply(tf.inventory, { ...fast, plan: saved });
    expect(report.ok).toBe(true);
  });

  it('stops cleanly between steps when interrupted, and a re-run resumes to the declared state', async () => {
    tf = await testFleet({ clusters: [{ name: 'c', standalone: true, nodes: [gpuNode('pve1')] }] });
    const abort = new AbortController();
    let steps = 0;
    const first = await apply(tf.inventory, { ...fast, signal: abort.signal, onEvent: (e) => { if (e.type === 'node' && e.status === 'step' && ++steps === 1) abort.abort(); } });
    expect(first.ok).toBe(false);
    expect(first.nodes[0]?.message).toMatch(/interrupted/);
    expect(tf.fleet.host('pve1').reboots).toBe(0);
    const second = await apply(tf.inventory, fast);
    expect(second.ok).toBe(true);
    const v = await verify(tf.inventory, fast);
    expect(v.verdict).toBe('compliant');
    const third = await plan(tf.inventory);
    expect(third.clusters[0]!.nodes[0]!.steps).toEqual([]);
  });
});
