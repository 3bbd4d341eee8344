/**
 * Ctrl-C (SIGINT) during apply: the step in progress finishes, nothing after
 * it starts, nothing is half-done, the run lock is released, no reboot is
 * begun, and a re-run resumes from the facts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/index.js';
import { runCli } from './cli.js';
import { expectConverges, expectIntact, intended, reboots, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

describe('fault: SIGINT during apply', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'solo', standalone: true, nodes: [VFIO_NODE('n1')] }] });
  });
  afterAll(() => sim?.close());

  it('finishes the current step, stops cleanly, and a re-run resumes', async () => {
    const planned = intended(await plan(sim.inventory, sim.opts()));
    const before = snapshot(sim.fleet);
    let sent = false;
    const r = await runCli(['apply', '--yes', '-i', sim.fleet.inventoryPath, '--poll-ms', '20'], {
      home: sim.dir,
      onStderr: (text, child) => {
        // Ctrl-C as soon as the first file write starts.
        if (!sent && /write \/etc\//.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(sent).toBe(true);
    expect(r.signal).toBeNull(); // it exited by itself, not killed by the signal
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/interrupt: finishing the current step, then stopping/);
    expect(r.stderr).toMatch(/interrupted/);
    expect(reboots(sim.fleet)).toEqual({ n1: 0 });
    const host = sim.fleet.host('n1').state;
    expect(host.vfs.exists('/run/pve-passthrough.lock')).toBe(false);
    // Every file is old or new, never in between; the boot files were not refreshed half-way.
    const changed = expectIntact(before, snapshot(sim.fleet), planned).get('n1')!;
    // All or nothing: either every planned file is back to its old version, or every one is new and refreshed.
    const plannedPaths = [...planned.get('n1')!.keys()].sort();
    if (changed.length === 0) expect(r.stderr).toMatch(/were restored from their backups/);
    else {
      expect(changed.sort()).toEqual(plannedPaths);
      expect(r.stderr).toMatch(/interrupted before the reboot; the files are written, the reboot is pending/);
    }
    expect(host.commandLog.some((c) => c.includes('systemctl') && c.includes('reboot'))).toBe(false);

    await expectConverges(sim);
    expect(reboots(sim.fleet)).toEqual({ n1: 1 });
  });
});
