/**
 * Compare-and-swap writes (issue 14, item 3), over the simulator's real SSH:
 * the lost-update sequence of the issue. Operator A plans and waits at the
 * confirmation; operator B applies another kernel parameter to the same
 * node; A confirms. A is refused ("changed since the plan", with the diff),
 * nothing of B's is lost, A leaves no backup behind, and B's run still rolls
 * back byte for byte. Rollback refuses a file changed since the run unless
 * --force, naming it; with --force the later version is kept in the
 * rollback's own backup, so that rollback can be undone too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, rollback, type Inventory } from '../../src/index.js';
import { withContext } from '../../src/engine/context.js';
import { planWith } from '../../src/engine/plan.js';
import { applyWith } from '../../src/engine/apply.js';
import { applyHostSteps } from '../../src/engine/host-apply.js';
import { snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

const DROPIN = '/etc/default/grub.d/pve-passthrough.cfg';

describe('lost update: a plan waiting for confirmation while someone else applies', () => {
  let sim: Sim;
  let invB: Inventory;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'c', standalone: true, nodes: [VFIO_NODE('n1')] }] });
    invB = structuredClone(sim.inventory);
    invB.clusters[0]!.nodes[0]!.kernelParams = ['pcie_aspm=off'];
  });
  afterAll(() => sim?.close());

  const host = () => sim.fleet.host('n1');
  const backupsOf = (runId: string) => host().state.vfs.walkFiles('/var/lib/pve-passthrough/backups').filter((p) => p.includes(`/${runId}/`));

  it('A is refused with the diff, B keeps its token, A leaves no manifest, and B rolls back byte for byte', async () => {
    const original = snapshot(sim.fleet, '/etc');
    let bRun = '';
    const a = await withContext(sim.inventory, sim.opts(), async (ctx) => {
      const planA = await planWith(ctx);
      const stepA = planA.clusters[0]!.nodes[0]!.steps.find((s) => s.kind === 'write-file' && s.path === DROPIN);
      expect(stepA, 'A plans to write the GRUB drop-in').toBeDefined();
      // ... A waits at the prompt; B applies meanwhile.
      const b = await apply(invB, sim.opts());
      expect(b.ok, JSON.stringify(b.nodes)).toBe(true);
      bRun = b.runId;
      expect(host().state.vfs.read(DROPIN)).toContain('pcie_aspm=off');
      // A confirms.
      return { report: await applyWith(ctx, planA), runId: ctx.runId };
    });
    const n = a.report.nodes[0]!;
    expect(n.outcome).toBe('failed');
    expect(n.error?.code).toBe('E_CHANGED_SINCE_PLAN');
    expect(n.message).toContain(`changed since the plan, so nothing was written on this node: ${DROPIN}`);
    expect(n.message).toMatch(/pcie_aspm=off/); // the diff shows B's line
    expect(n.stepsDone).toBe(0);
    // Nothing of B's is lost, and A wrote nothing (no manifest of its run).
    const drop = host().state.vfs.read(DROPIN);
    expect(drop).toContain('pcie_aspm=off');
    expect(backupsOf(a.runId).filter((p) => p.endsWith('manifest.json'))).toEqual([]);

    // B's run still rolls back exactly to the state before B.
    const r = await rollback(sim.inventory, { ...sim.opts(), node: 'n1', run: bRun });
    expect(r.result.outcome, r.result.message).toBe('applied');
    const now = snapshot(sim.fleet, '/etc').get('n1')!;
    const was = original.get('n1')!;
    expect([...now.keys()].sort()).toEqual([...was.keys()].sort());
    for (const [p, f] of was) expect(now.get(p), p).toEqual(f);
  });

  it('rollback refuses a file changed since the run, naming it, and --force restores it keeping the later version in its own backup', async () => {
    const before = snapshot(sim.fleet, '/etc').get('n1')!;
    const b = await apply(invB, sim.opts());
    expect(b.ok).toBe(true);
    // Someone edits the file the run wrote.
    const edited = `${host().state.vfs.read(DROPIN)}# tuned by hand\n`;
    host().state.drift.writeFile(DROPIN, edited);

    const refused = await rollback(sim.inventory, { ...sim.opts(), node: 'n1', run: b.runId });
    expect(refused.result.outcome).toBe('failed');
    expect(refused.result.error?.code, refused.result.message).toBe("E_CHANGED_SINCE_RUN");
    expect(refused.result.message).toContain(`${DROPIN} (changed since run ${b.runId} wrote it)`);
    expect(refused.result.error?.fix).toMatch(/--force/);
    expect(host().state.vfs.read(DROPIN)).toBe(edited);

    const forced = await rollback(sim.inventory, { ...sim.opts(), node: 'n1', run: b.runId, force: true });
    expect(forced.result.outcome, forced.result.message).toBe('applied');
    const now = snapshot(sim.fleet, '/etc').get('n1')!;
    for (const [p, f] of before) expect(now.get(p), p).toEqual(f);
    expect(now.has(DROPIN)).toBe(before.has(DROPIN));
    // The hand-edited version is in the forced rollback's own backup, so that rollback can be undone.
    expect(host().state.vfs.read(`/var/lib/pve-passthrough/backups/${forced.runId}${DROPIN}`)).toBe(edited);
    const undo = await rollback(sim.inventory, { ...sim.opts(), node: 'n1', run: forced.runId });
    expect(undo.result.outcome, undo.result.message).toBe('applied');
    expect(host().state.vfs.read(DROPIN)).toBe(edited);
  });

  it('applyHostSteps itself compares bytes on the host before the first write (a change between the facts and the write)', async () => {
    const hostname = host().state.vfs.read('/etc/hostname');
    const modules = host().state.vfs.read('/etc/modules');
    await withContext(sim.inventory, sim.opts(), async (ctx) => {
      const h = await ctx.conn.logged(sim.inventory.clusters[0]!, sim.inventory.clusters[0]!.nodes[0]!);
      const steps = [
        { kind: 'write-file' as const, path: '/etc/hostname', before: hostname, after: 'other\n', mode: '0644', uid: 0, gid: 0, reason: 'test' },
        { kind: 'write-file' as const, path: '/etc/modules', before: `${modules}stale line\n`, after: 'vfio\n', mode: '0644', uid: 0, gid: 0, reason: 'test' },
      ];
      await expect(applyHostSteps(h, steps, { runId: 'cas-test-1', now: ctx.now, refreshTimeoutMs: 600_000 })).rejects.toMatchObject({
        code: 'E_CHANGED_SINCE_PLAN', message: expect.stringMatching(/\/etc\/modules: diff: "-stale line"/),
      });
    });
    expect(host().state.vfs.read('/etc/hostname')).toBe(hostname);
    expect(host().state.vfs.read('/etc/modules')).toBe(modules);
    expect(host().state.vfs.exists('/var/lib/pve-passthrough/backups/cas-test-1/manifest.json')).toBe(false);
  });
});
