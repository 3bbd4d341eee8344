/**
 * Quorum is lost while a cluster is being rolled out: no further node of that
 * cluster reboots. The gate reads quorum again before every reboot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, plan, type EngineEvent } from '../../src/index.js';
import { expectConverges, expectIntact, intended, LEASE_RECORD, reboots, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('fault: quorum lost mid-rollout', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: [{
        name: 'trio',
        policy: { maxUnavailable: 1, rebootTimeoutSeconds: 3 },
        nodes: [VFIO_NODE('q1'), VFIO_NODE('q2'), VFIO_NODE('q3')],
      }],
    });
  });
  afterAll(() => sim?.close());

  it('reboots no further node once the cluster is not quorate', async () => {
    const api = sim.fleet.cluster('trio').api!;
    const planned = intended(await plan(sim.inventory, sim.opts()));
    const before = snapshot(sim.fleet);
    let first: string | null = null;
    const onEvent = (e: EngineEvent) => {
      sim.events.push(e);
      // The first node to come back finds its cluster without quorum (corosync split, say).
      if (!first && e.type === 'node' && e.status === 'reboot' && /back with a new boot_id/.test(e.message)) {
        first = e.node;
        api.faults.setQuorumLost(true);
      }
    };
    const report = await apply(sim.inventory, sim.opts({ onEvent }));
    expect(first).not.toBeNull();
    expect(report.ok).toBe(false);
    const counts = reboots(sim.fleet);
    expect(Object.values(counts).reduce((a, b) => a + b, 0), JSON.stringify(counts)).toBe(1);
    expect(counts[first!]).toBe(1);
    for (const n of report.nodes.filter((x) => x.node !== first)) {
      expect(n.rebooted).toBe(false);
      expect(['failed', 'skipped']).toContain(n.outcome);
      expect(n.message).toMatch(/quorate|quorum|rollout .* stopped/);
    }
    expectIntact(before, snapshot(sim.fleet), planned);
    // Without quorum /etc/pve is read-only: the lease could not be released. It names the run and expires by itself.
    const lease = sim.fleet.host('q1').state.vfs.readOr(LEASE_RECORD);
    expect(lease).toContain(`run=${report.runId}`);
    expect(sim.events.some((e) => e.type === 'warning' && /could not release the lease .* expires by itself/.test(e.message))).toBe(true);

    api.faults.setQuorumLost(false);
    const ttl = Number(/ttl=(\d+)/.exec(lease!)![1]);
    sim.fleet.advanceClock((ttl + 1) * 1000);
    await expectConverges(sim);
    expect(reboots(sim.fleet)).toEqual({ q1: 1, q2: 1, q3: 1 });
  });
});
