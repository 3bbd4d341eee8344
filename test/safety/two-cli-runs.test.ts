/**
 * Issue 14's reproduction as two operators would meet it: two CLI processes
 * (each its own state folder, as on two laptops) apply `--node pve1` and
 * `--node pve3` of one 3-node cluster at the same moment, with
 * `maxUnavailable: 2`. Each process has its own in-memory reboot gate, so only
 * the cluster-wide lease (pmxcfs, shared by the simulated nodes like
 * /etc/pve) can keep them apart. Sampled from the simulator at every reboot:
 * never more than one node down (quorum of 3 votes allows one), quorum never
 * lost; both exit 0; the cluster then verifies compliant. Without the lease
 * (acquireLeases made a no-op) the gate's quorum read before each reboot still
 * keeps quorum, but one run fails after writing its files: this test fails.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verify } from '../../src/index.js';
import { watchDown } from '../helpers/fleet.js';
import { runCli } from './cli.js';
import { expectConverges, LEASE_RECORD, reboots, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('two CLI processes on one cluster at once', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'trio', policy: { maxUnavailable: 2 }, nodes: ['pve1', 'pve2', 'pve3'].map((n) => VFIO_NODE(n)) }] }, { rebootDelayMs: 300 });
  });
  afterAll(() => sim?.close());

  it('take turns through the lease: quorum holds, both succeed, the cluster converges', async () => {
    const w = watchDown(sim.fleet);
    const cli = (node: string) => runCli(['apply', '--yes', '-i', sim.fleet.inventoryPath, '--node', node, '--wait-lease', '120', '--poll-ms', '20'], { home: join(sim.dir, node), timeoutMs: 150_000 });
    const [a, b] = await Promise.all([cli('pve1'), cli('pve3')]);
    w.stop();
    expect(w.max()).toBe(1);
    expect(w.lostQuorum()).toBe(0);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    // One of them met the other's lease and said whose it was.
    expect(`${a.stderr}${b.stderr}`).toMatch(/held by run \S+ by \S+@\S+/);
    expect(reboots(sim.fleet)).toEqual({ pve1: 1, pve2: 0, pve3: 1 });
    for (const n of ['pve1', 'pve2', 'pve3']) expect(sim.fleet.host(n).state.vfs.exists(LEASE_RECORD), n).toBe(false);
    await expectConverges(sim);
    expect((await verify(sim.inventory, sim.opts())).verdict).toBe('compliant');
  }, 180_000);
});
