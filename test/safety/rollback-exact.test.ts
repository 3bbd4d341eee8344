/**
 * Rollback after a successful apply restores the exact previous files: byte
 * for byte, with mode and owner; files the run created are gone again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, rollback } from '../../src/index.js';
import { expectConverges, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('rollback after a successful apply', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: [
        { name: 'g', standalone: true, nodes: [VFIO_NODE('grubnode', 'pve9-intel-grub-lvm')] },
        { name: 's', standalone: true, nodes: [VFIO_NODE('sdnode', 'pve9-amd-sdboot-zfs')] },
      ],
    });
  });
  afterAll(() => sim?.close());

  it('restores every file byte for byte, with mode and owner', async () => {
    const before = snapshot(sim.fleet);
    const applied = await apply(sim.inventory, sim.opts());
    expect(applied.ok).toBe(true);
    const mid = snapshot(sim.fleet);
    for (const node of ['grubnode', 'sdnode']) {
      // The apply really changed something on each node (else the test proves nothing).
      expect(mid.get(node)).not.toEqual(before.get(node));
      const r = await rollback(sim.inventory, { ...sim.opts(), node, run: applied.runId });
      expect(r.result.outcome, r.result.message).toBe('applied');
      expect(r.restoredRun).toBe(applied.runId);
      expect(r.files.some((f) => f.action === 'removed')).toBe(true);
    }
    const after = snapshot(sim.fleet);
    for (const node of ['grubnode', 'sdnode']) {
      const was = before.get(node)!;
      const now = after.get(node)!;
      expect([...now.keys()].sort()).toEqual([...was.keys()].sort());
      for (const [path, f] of was) {
        const cur = now.get(path)!;
        expect(Buffer.from(cur.content).equals(Buffer.from(f.content)), `${node}:${path} bytes`).toBe(true);
        expect({ mode: cur.mode.toString(8), uid: cur.uid, gid: cur.gid }, `${node}:${path} mode/owner`).toEqual({ mode: f.mode.toString(8), uid: f.uid, gid: f.gid });
      }
    }
    // The running kernel command line is back too (the rollback rebooted under the same policy).
    expect(sim.fleet.host('grubnode').state.booted.cmdline).not.toMatch(/iommu=pt/);
    // And applying again converges once more.
    await expectConverges(sim);
  });
});
