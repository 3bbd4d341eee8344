/**
 * The library enforces what the CLI enforces (issue 17, item 5), checked
 * through the package entry (src/index.ts) as a library caller uses it:
 * - a saved plan made from another inventory, or not a plan at all, is refused
 *   by `apply(inv, { plan })` with E_PLAN_DIFFERS and nothing is written;
 * - an inventory built in code is validated like a file: a bad field is an
 *   InputError naming it, before any node or API is contacted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, ErrorCode, InputError, plan, SafetyError, verify, type Inventory, type Plan } from '../../src/index.js';
import { checkInventory } from '../../src/inventory/load.js';
import { snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('the library enforces what the CLI enforces', () => {
  let sim: Sim;
  let saved: Plan;

  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'c', standalone: true, nodes: [VFIO_NODE('n1')] }] });
    saved = await plan(sim.inventory, sim.opts());
    // Only meaningful when applying the plan would write something.
    expect(saved.clusters[0]!.nodes[0]!.steps.length).toBeGreaterThan(0);
  });
  afterAll(() => sim?.close());

  const refused = async (run: () => Promise<unknown>, expected: object) => {
    const before = snapshot(sim.fleet, '/');
    const requests = sim.requests.length;
    const err = await run().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject(expected);
    expect(snapshot(sim.fleet, '/')).toEqual(before);
    expect(sim.requests.length).toBe(requests);
    return err;
  };

  it('refuses a saved plan made from another inventory (its digest differs), writing nothing', async () => {
    const other: Inventory = { ...sim.inventory, clusters: sim.inventory.clusters.map((c) => ({ ...c, policy: { ...c.policy, maxFailures: c.policy.maxFailures + 1 } })) };
    const err = await refused(() => apply(other, sim.opts({ plan: saved })), {
      code: ErrorCode.PLAN_DIFFERS, message: 'the saved plan was made from a different inventory', context: { fix: 'run plan again with this inventory and review it' },
    });
    expect(err).toBeInstanceOf(SafetyError);
  });

  it('refuses something that is not a plan, writing nothing', async () => {
    await refused(() => apply(sim.inventory, sim.opts({ plan: { version: 2 } as unknown as Plan })), { code: ErrorCode.PLAN_DIFFERS, message: 'the saved plan is not a pve-passthrough plan' });
  });

  it('validates an inventory built in code like a file: the field is named, nothing is contacted', async () => {
    const events = sim.events.length;
    const bad = structuredClone(sim.inventory) as unknown as { clusters: { nodes: { devices: { address: string }[] }[] }[] };
    bad.clusters[0]!.nodes[0]!.devices[0]!.address = "0000:01:00.0'; reboot; '";
    for (const entry of [plan, apply, verify] as const) {
      const err = await refused(() => entry(bad as unknown as Inventory, sim.opts()), { code: ErrorCode.INPUT });
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).problems.join('\n')).toMatch(/clusters\[0\]\.nodes\[0\]\.devices\[0\]\.address/);
    }
    expect(sim.events.length).toBe(events);
  });

  it('gives back a validated inventory unchanged, so checking it again changes no digest', () => {
    expect(checkInventory(sim.inventory)).toEqual(sim.inventory);
  });

  it('the untouched plan still applies through the library', async () => {
    const report = await apply(sim.inventory, sim.opts({ plan: saved }));
    expect(report.ok).toBe(true);
    expect(report.nodes[0]!.outcome).toBe('applied');
  });
});
