/**
 * The reboot gate's API reads are safety inputs: one that fails is an error
 * naming the endpoint, never a default. Before, a failed
 * GET /cluster/ha/resources counted as "no HA resources" when the gate
 * counted its reboot slots (src/engine/reboot-gate.ts readQuorum), so plan
 * said nothing and the budget ignored HA. Over the simulated cluster (real
 * HTTPS); the fault is the simulator's own (mocks/api/faults.ts).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { gpuNode, testFleet, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});

const trio = { clusters: [{ name: 'trio', nodes: [gpuNode('n1'), gpuNode('n2'), gpuNode('n3')] }] };

describe('a failed HA read is not "no HA"', () => {
  it('plan says the reboot outlook is unknown, naming GET /cluster/ha/resources', async () => {
    tf = await testFleet(trio);
    tf.fleet.cluster('trio').api!.faults.failRequest({ method: 'GET', path: /^\/cluster\/ha\/resources$/, status: 500, message: 'ha config unreadable', once: false });
    const p = await plan(tf.inventory, { pollMs: 20 });
    const outlook = p.clusters[0]!.warnings.filter((w) => w.subject === 'cluster trio');
    expect(outlook.map((w) => w.message), JSON.stringify(p.clusters[0]!.warnings)).toEqual([
      expect.stringMatching(/^could not read quorum, so whether apply may reboot is not known yet: GET \/cluster\/ha\/resources failed: ha config unreadable/),
    ]);
  });

  it('the same cluster with a readable HA list: no such warning (the check can fail)', async () => {
    tf = await testFleet(trio);
    const p = await plan(tf.inventory, { pollMs: 20 });
    expect(p.clusters[0]!.warnings.filter((w) => w.subject === 'cluster trio')).toEqual([]);
  });
});
