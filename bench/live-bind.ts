/**
 * Live rebinding against the always-reboot path: one cluster where half the
 * nodes can move their GPU to vfio-pci live (PVE 9, IOMMU already on, no
 * token to add) and the other half must reboot (they ask for iommu=pt). The
 * same rollout runs with --reboot=needed and with --reboot=always on a fresh
 * simulated fleet each time; reboots are serialized (maxUnavailable 1), so
 * every node that skips its reboot takes one reboot time off the critical path.
 * Tool and simulator share this process (library API, real SSH and HTTPS on
 * 127.0.0.1): the figure is the difference between the two paths.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseScenario, startFleet } from '@pve-passthrough/simulator';
import { apply } from '../src/engine/apply.js';
import { loadInventory } from '../src/inventory/load.js';
import { summarize, type Summary } from './stats.js';

export interface LiveBindBenchOptions {
  /** Nodes in the cluster; half (rounded down) need no reboot. */
  readonly nodes: number;
  /** Simulated reboot downtime per node (ms). */
  readonly rebootMs: number;
  readonly pollMs: number;
  readonly reps: number;
  readonly workDir?: string;
  readonly log?: (s: string) => void;
}

export interface LiveBindRun {
  readonly policy: 'needed' | 'always';
  readonly wallS: number;
  readonly reboots: number;
  readonly ok: boolean;
}

export interface LiveBindFigure {
  readonly nodes: number;
  readonly liveNodes: number;
  readonly rebootMs: number;
  readonly runs: readonly LiveBindRun[];
  readonly neededS: Summary;
  readonly alwaysS: Summary;
  /** Median wall time saved by rebooting only where needed (s and % of the always path). */
  readonly savedS: number;
  readonly savedPct: number;
}

function scenario(nodes: number, liveNodes: number) {
  const gpu = [{ address: '0000:01:00.0', allFunctions: true }];
  return parseScenario({
    name: 'live-bind-bench',
    clusters: [{
      name: 'bench',
      policy: { reboot: 'needed', maxUnavailable: 1 },
      nodes: Array.from({ length: nodes }, (_, i) => ({
        name: `pve${i + 1}`,
        profile: 'pve9-intel-grub-lvm',
        declare: i < liveNodes ? { devices: gpu } : { devices: gpu, iommuPassthrough: true },
      })),
    }],
  }, 'live-bind bench');
}

async function once(o: LiveBindBenchOptions, policy: 'needed' | 'always', base: string): Promise<LiveBindRun> {
  const dir = await mkdtemp(join(base, `${policy}-`));
  const fleet = await startFleet({ scenario: scenario(o.nodes, Math.floor(o.nodes / 2)), dir, rebootDelayMs: o.rebootMs, taskMs: 5 });
  try {
    const { inventory } = await loadInventory(fleet.inventoryPath);
    const t0 = performance.now();
    const report = await apply(inventory, { reboot: policy, pollMs: o.pollMs });
    const wallS = (performance.now() - t0) / 1000;
    return { policy, wallS, reboots: report.nodes.filter((n) => n.rebooted).length, ok: report.ok };
  } finally {
    await fleet.close();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function liveBindBench(o: LiveBindBenchOptions): Promise<LiveBindFigure> {
  if (o.nodes < 2) throw new Error('the live-bind bench needs at least 2 nodes');
  const log = o.log ?? (() => {});
  const base = await mkdtemp(join(o.workDir ?? tmpdir(), 'pvpt-live-bind-'));
  const runs: LiveBindRun[] = [];
  try {
    for (let r = 0; r < o.reps; r++) {
      // Alternate the order so that warm-up does not favour one path.
      const order: readonly ('needed' | 'always')[] = r % 2 === 0 ? ['needed', 'always'] : ['always', 'needed'];
      for (const policy of order) {
        const run = await once(o, policy, base);
        if (!run.ok) throw new Error(`live-bind bench: apply with --reboot=${policy} did not converge`);
        log(`live-bind: ${policy} rep ${r + 1}: ${run.wallS.toFixed(2)} s, ${run.reboots} reboot(s)`);
        runs.push(run);
      }
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
  const neededS = summarize(runs.filter((r) => r.policy === 'needed').map((r) => r.wallS));
  const alwaysS = summarize(runs.filter((r) => r.policy === 'always').map((r) => r.wallS));
  const savedS = alwaysS.median - neededS.median;
  return { nodes: o.nodes, liveNodes: Math.floor(o.nodes / 2), rebootMs: o.rebootMs, runs, neededS, alwaysS, savedS, savedPct: alwaysS.median > 0 ? (100 * savedS) / alwaysS.median : 0 };
}
