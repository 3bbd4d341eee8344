/**
 * A host that never comes back from its reboot: that node fails with the
 * timeout, its cluster's rollout stops (no other node there is touched), the
 * other cluster finishes, apply exits 1 and says what to do next.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan, type ApplyReport } from '../../src/index.js';
import { runCli } from './cli.js';
import { expectConverges, expectIntact, intended, reboots, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('fault: a host never returns from its reboot', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: [
        {
          name: 'alpha',
          policy: { canary: 'a1', rebootTimeoutSeconds: 3, maxUnavailable: 1 },
          nodes: [VFIO_NODE('a1', 'pve9-intel-grub-lvm', { faults: { neverReturns: true } }), VFIO_NODE('a2'), VFIO_NODE('a3')],
        },
        { name: 'beta', standalone: true, nodes: [VFIO_NODE('b1', 'pve9-amd-sdboot-zfs')] },
      ],
    });
  });
  afterAll(() => sim?.close());

  it('fails that node with the timeout, stops its cluster, finishes the other, exits 1 with next steps', async () => {
    const before = snapshot(sim.fleet);
    const planned = intended(await plan(sim.inventory, sim.opts()));
    const r = await runCli(['apply', '--yes', '--json', '-i', sim.fleet.inventoryPath, '--poll-ms', '20'], { home: sim.dir });
    expect(r.code, r.stderr).toBe(1);
    const report = JSON.parse(r.stdout) as ApplyReport;
    const byNode = Object.fromEntries(report.nodes.map((n) => [n.node, n]));
    expect(byNode.a1!.outcome).toBe('failed');
    expect(byNode.a1!.error?.code).toBe('E_REBOOT_TIMEOUT');
    expect(byNode.a1!.message).toMatch(/did not come back .* within 3 s/);
    expect(byNode.a2!.outcome).toBe('skipped');
    expect(byNode.a3!.outcome).toBe('skipped');
    expect(byNode.b1!.outcome).toBe('applied');
    expect(report.ok).toBe(false);
    expect(report.next.join('\n')).toMatch(/alpha\/a1: did not come back from its reboot — check its console\/BMC; once it is up, run verify, then apply again/);
    expect(report.next.join('\n')).toMatch(/alpha\/a2: not touched because its cluster's rollout stopped/);
    // a2 was not touched at all: no reboot, and its files are unchanged.
    expect(reboots(sim.fleet)).toMatchObject({ a2: 0, a3: 0, b1: 1 });
    const after = snapshot(sim.fleet);
    const changed = expectIntact(before, after, planned);
    expect(changed.get('a2')).toEqual([]);
    expect(changed.get('a3')).toEqual([]);
    expect(changed.get('b1')!.length).toBeGreaterThan(0);

    // Someone power-cycles a1 from its console (it boots what was installed); the re-run converges without rebooting it again.
    sim.fleet.host('a1').powerOn();
    await expectConverges(sim);
    expect(reboots(sim.fleet)).toMatchObject({ a1: 1, a2: 1, a3: 1, b1: 1 });
  });
});
