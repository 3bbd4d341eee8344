/**
 * The SSH connection drops half-way through a file write (the content is on
 * stdin of `cat > tmp`). The target is either the old or the new version,
 * never partial, and the run says which. Files written before the cut are put
 * back (their refresh never ran), the run lock is released, and a re-run
 * converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, plan, type HostStep } from '../../src/index.js';
import { expectConverges, expectIntact, intended, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('fault: SSH connection dropped during a file write', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'solo', standalone: true, nodes: [VFIO_NODE('n1')] }] });
  });
  afterAll(() => sim?.close());

  it('leaves each file old or new, never partial, and says which', async () => {
    const p = await plan(sim.inventory, sim.opts());
    const writes = p.clusters[0]!.nodes[0]!.steps.filter((s): s is Extract<HostStep, { kind: 'write-file' }> => s.kind === 'write-file');
    expect(writes.length).toBeGreaterThanOrEqual(2);
    const [first, cut] = writes as [typeof writes[0], typeof writes[0]];
    // The second file's write is cut off after half its bytes went over the wire.
    sim.fleet.host('n1').state.setFaults({ dropDuringWrite: { pathIncludes: cut.path.slice(0, cut.path.lastIndexOf('/') + 1) } });
    const before = snapshot(sim.fleet);

    const report = await apply(sim.inventory, sim.opts());
    const n = report.nodes[0]!;
    expect(n.outcome).toBe('failed');
    expect(n.rebooted).toBe(false);
    expect(n.message).toContain(`write ${cut.path} failed (exit none: connection lost)`);
    expect(n.message).toContain(`${cut.path} is never left partial: it is unchanged (the old version)`);

    const after = snapshot(sim.fleet);
    const changed = expectIntact(before, after, intended(p));
    const files = after.get('n1')!;
    // The cut file is byte-for-byte what it was (or still absent). The first file had been written whole, but
    // without its refresh it would be a half-done node a re-run cannot see: it was put back from its backup.
    expect(n.message).toContain('the 1 file(s) this run had written on the node were restored from their backups');
    expect(files.get(cut.path)?.content ?? null).toBe(cut.before);
    expect(files.get(first.path)?.content ?? null).toBe(first.before);
    expect(changed.get('n1')).toEqual([]);
    // The run wrote the first file before the cut (the backup of it is there when it existed).
    expect(sim.fleet.host('n1').commandLog.some((c) => c.includes(`.${first.path.slice(first.path.lastIndexOf('/') + 1)}.pvpt-tmp`))).toBe(true);
    // Nothing rebooted, and the node lock was released although the connection dropped.
    expect(sim.fleet.host('n1').reboots).toBe(0);
    expect(sim.fleet.host('n1').state.vfs.exists('/run/pve-passthrough.lock')).toBe(false);

    await expectConverges(sim);
    // The leftover temporary file was replaced by the completed write.
    expect([...snapshot(sim.fleet).get('n1')!.keys()].filter((f) => f.endsWith('.pvpt-tmp'))).toEqual([]);
  });

  it('says so when the cut came after the new version landed, and puts the old one back', async () => {
    await sim.close();
    sim = await startSim({ clusters: [{ name: 'solo', standalone: true, nodes: [VFIO_NODE('n1')] }] });
    const p = await plan(sim.inventory, sim.opts());
    const writes = p.clusters[0]!.nodes[0]!.steps.filter((s): s is Extract<HostStep, { kind: 'write-file' }> => s.kind === 'write-file');
    const cut = writes[0]!;
    // The connection drops right after `mv` put the new file in place, before the exec could report success.
    sim.fleet.host('n1').state.setFaults({ dropDuringWrite: { pathIncludes: cut.path, at: 'after-mv' } });
    const before = snapshot(sim.fleet);

    const report = await apply(sim.inventory, sim.opts());
    const n = report.nodes[0]!;
    expect(n.outcome).toBe('failed');
    expect(n.message).toContain(`${cut.path} is never left partial: the write had completed (new version)`);
    // It counts as written, so it is restored with the rest: the node is back to where it was.
    expect(n.message).toContain('the 1 file(s) this run had written on the node were restored from their backups');
    const after = snapshot(sim.fleet);
    expectIntact(before, after, intended(p));
    expect(after.get('n1')!.get(cut.path)?.content ?? null).toBe(cut.before);
    expect(sim.fleet.host('n1').reboots).toBe(0);
    await expectConverges(sim);
  });
});
