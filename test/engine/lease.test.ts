/**
 * The run lease against the simulated cluster, whose /etc/pve is ONE file
 * system shared by its nodes (as pmxcfs is): two runs that reach the cluster
 * through different nodes still exclude each other.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { apply, verify, type EngineEvent } from '../../src/index.js';
import { CLUSTER_LEASE, leaseState, parseLease, renderLease } from '../../src/engine/lease.js';
import { gpuNode, testFleet, watchDown, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };
const OWNED = '/etc/modprobe.d/pve-passthrough.conf';

describe('lease record (pure)', () => {
  const rec = { run: '20261205T070000Z-abc123', holder: 'alice@laptop', started: 1000, renewed: 1100, ttl: 360 };
  it('round-trips and judges by the host clock', () => {
    const back = parseLease(renderLease(rec));
    expect(back).toEqual(rec);
    expect(leaseState(back, 'other', 1100 + 360)).toBe('held');
    expect(leaseState(back, 'other', 1100 + 361)).toBe('expired');
    expect(leaseState(back, rec.run, 99999)).toBe('ours');
    expect(leaseState(null, 'x', 1)).toBe('free');
  });
  it('treats a record it cannot read as held, never as free', () => {
    expect(leaseState(parseLease('garbage\n'), 'x', 1)).toBe('held');
    expect(leaseState(parseLease(renderLease(rec).replace('holder=alice@laptop', 'holder=$(reboot)')), 'x', 1)).toBe('held');
  });
});

describe('the run lease on a simulated cluster', () => {
  const trio = () => testFleet({ clusters: [{ name: 'c', policy: { maxUnavailable: 2 }, nodes: [gpuNode('pve1'), gpuNode('pve2'), gpuNode('pve3')] }] }, { rebootDelayMs: 150 });

  it('two runs started at once on one cluster (--node pve1, --node pve3): they take turns, quorum holds, and the cluster converges', async () => {
    tf = await trio();
    const w = watchDown(tf.fleet);
    const waits: string[] = [];
    const onEvent = (e: EngineEvent) => { if (e.type === 'phase' && /waiting for the lease/.test(e.message)) waits.push(e.message); };
    const [a, b] = await Promise.all([
      apply(tf.inventory, { ...fast, selection: { nodes: ['pve1'] }, lease: { waitSeconds: 60 }, onEvent }),
      apply(tf.inventory, { ...fast, selection: { nodes: ['pve3'] }, lease: { waitSeconds: 60 }, onEvent }),
    ]);
    w.stop();
    expect(a.ok && b.ok, JSON.stringify([a.nodes, b.nodes])).toBe(true);
    expect(waits.length).toBeGreaterThan(0);
    expect(waits[0]).toMatch(/held by run \S+ by \S+@\S+/);
    expect(w.max()).toBe(1);
    expect(w.lostQuorum()).toBe(0);
    await apply(tf.inventory, fast);
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
    expect(tf.fleet.cluster('c').pmxcfs!.root.children.get('priv')).toBeDefined();
    expect(tf.fleet.host('pve2').state.vfs.exists(CLUSTER_LEASE.record)).toBe(false);
  });

  it('without --wait-lease the second run refuses at once, naming the holder, and writes nothing', async () => {
    tf = await trio();
    const holder = renderLease({ run: '20261205T060000Z-aaaaaa', holder: 'bob@ops-box', started: tf.fleet.host('pve1').state.nowSeconds(), renewed: tf.fleet.host('pve1').state.nowSeconds(), ttl: 600 });
    tf.fleet.host('pve2').state.drift.writeFile(CLUSTER_LEASE.record, holder);
    const r = await apply(tf.inventory, fast);
    expect(r.ok).toBe(false);
    for (const n of r.nodes) {
      expect(n.error?.code).toBe('E_LEASE_HELD');
      expect(n.message).toMatch(/another pve-passthrough run holds cluster c: run 20261205T060000Z-aaaaaa by bob@ops-box/);
    }
    for (const n of ['pve1', 'pve2', 'pve3']) expect(tf.fleet.host(n).state.vfs.exists(OWNED)).toBe(false);
    // The other run's lease is left as it was.
    expect(tf.fleet.host('pve3').state.vfs.readOr(CLUSTER_LEASE.record)).toBe(holder);
  });

  it('takes over an expired lease and says so; --break-lease takes a live one only with consent', async () => {
    tf = await trio();
    const now = tf.fleet.host('pve1').state.nowSeconds();
    tf.fleet.host('pve1').state.drift.writeFile(CLUSTER_LEASE.record, renderLease({ run: '20261205T050000Z-dead00', holder: 'cron@box', started: now - 1000, renewed: now - 700, ttl: 600 }));
    const warnings: string[] = [];
    const r = await apply(tf.inventory, { ...fast, onEvent: (e) => { if (e.type === 'warning') warnings.push(e.message); } });
    expect(r.ok).toBe(true);
    expect(warnings.join('\n')).toMatch(/took over an expired lease: run 20261205T050000Z-dead00 by cron@box/);
    expect(tf.fleet.host('pve3').state.vfs.exists(CLUSTER_LEASE.record)).toBe(false);

    tf.fleet.host('pve1').state.drift.writeFile(CLUSTER_LEASE.record, renderLease({ run: '20261205T050000Z-live00', holder: 'carol@desk', started: now, renewed: tf.fleet.host('pve1').state.nowSeconds(), ttl: 600 }));
    tf.fleet.host('pve1').state.drift.writeFile('/etc/modprobe.d/pve-passthrough.conf', '# hand edit\n');
    const asked: string[] = [];
    const refused = await apply(tf.inventory, { ...fast, lease: { breakLease: async (who) => { asked.push(who); return false; } } });
    expect(refused.ok).toBe(false);
    expect(asked[0]).toMatch(/run 20261205T050000Z-live00 by carol@desk/);
    expect(refused.nodes.find((n) => n.node === 'pve1')?.message).toMatch(/not broken/);
    const broken = await apply(tf.inventory, { ...fast, lease: { breakLease: async () => true }, onEvent: (e) => { if (e.type === 'warning') warnings.push(e.message); } });
    expect(broken.ok).toBe(true);
    expect(warnings.join('\n')).toMatch(/broke the lease of run 20261205T050000Z-live00 by carol@desk/);
  });

  it('a pmxcfs lock directory left by a dead process is freed by the unlock request once 120 s old, not before', async () => {
    tf = await trio();
    tf.fleet.host('pve1').state.drift.writeFile('/etc/pve/priv/lock/keep', 'x');
    const run1 = tf.fleet.host('pve1').state.exec("'mkdir' '/etc/pve/priv/lock/pve-passthrough'");
    expect(run1.code).toBe(0);
    // Seen from another node: held.
    expect(tf.fleet.host('pve3').state.exec("'mkdir' '/etc/pve/priv/lock/pve-passthrough'").code).toBe(1);
    expect(tf.fleet.host('pve3').state.exec("'touch' '-c' '-m' '-d' '@0' '/etc/pve/priv/lock/pve-passthrough'").code).toBe(0);
    expect(tf.fleet.host('pve3').state.vfs.exists('/etc/pve/priv/lock/pve-passthrough')).toBe(true);
    tf.fleet.advanceClock(121_000);
    tf.fleet.host('pve3').state.exec("'touch' '-c' '-m' '-d' '@0' '/etc/pve/priv/lock/pve-passthrough'");
    expect(tf.fleet.host('pve1').state.vfs.exists('/etc/pve/priv/lock/pve-passthrough')).toBe(false);
    // touch -c never creates anything where the lock was.
    tf.fleet.host('pve3').state.exec("'touch' '-c' '-m' '-d' '@0' '/etc/pve/priv/lock/pve-passthrough'");
    expect(tf.fleet.host('pve1').state.vfs.exists('/etc/pve/priv/lock/pve-passthrough')).toBe(false);
  });
});
