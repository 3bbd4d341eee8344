/**
 * Figure 2: an apply rollout across clusters with simulated reboot times.
 * Inside a cluster maxUnavailable = 1 serializes the reboots; clusters go in
 * parallel. The critical path is therefore (nodes per cluster) × (reboot
 * time), and everything above it is the tool's overhead: process start,
 * facts, writes, refresh, reboot polling, the cluster checks, verification.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { measure } from './measure.js';
import { CLI } from './paths.js';
import { REBOOTING_PROFILES, type BenchClusterSpec } from './scenario.js';
import { connectionDeltas, SimProcess } from './sim-process.js';
import { median, summarize, type Summary } from './stats.js';
import { rolloutBreakdown, type RolloutBreakdown } from './runlog-timeline.js';

export interface ApplyRun {
  readonly wallS: number;
  readonly cpuS: number;
  readonly maxRssMb: number;
  readonly overheadS: number;
  readonly connMin: number;
  readonly connMax: number;
  readonly breakdown: RolloutBreakdown;
}

export interface ApplyFigure {
  readonly clusters: number;
  readonly nodesPerCluster: number;
  readonly rebootS: number;
  readonly pollMs: number;
  readonly criticalPathS: number;
  readonly runs: readonly ApplyRun[];
  readonly wallS: Summary;
  readonly overheadS: Summary;
  /** overhead / critical path, in percent. */
  readonly overheadPct: Summary;
  /** Medians of the breakdown parts (seconds). */
  readonly breakdown: { processS: number; leadInS: number; noticeS: number; handoverS: number; tailS: number };
}

export interface ApplyBenchOptions {
  readonly clusters: number;
  readonly nodesPerCluster: number;
  readonly rebootMs: number;
  readonly pollMs: number;
  readonly reps: number;
  readonly workDir: string;
  readonly log: (s: string) => void;
}

interface ApplyJson {
  ok?: boolean;
  nodes?: { node: string; outcome: string; rebooted: boolean; message: string }[];
}

export async function applyBench(o: ApplyBenchOptions): Promise<ApplyFigure> {
  const criticalPathS = (o.nodesPerCluster * o.rebootMs) / 1000;
  const clusters: BenchClusterSpec[] = Array.from({ length: o.clusters }, (_, i) => ({ name: `c${i + 1}`, nodes: o.nodesPerCluster, api: true, rebootDelayMs: o.rebootMs, maxUnavailable: 1, profiles: REBOOTING_PROFILES }));
  const runs: ApplyRun[] = [];
  for (let r = 0; r < o.reps; r++) {
    // Each repetition needs an unconfigured fleet: a fresh simulator.
    const dir = await mkdtemp(join(o.workDir, 'apply-'));
    const { sim, ready } = await SimProcess.start({ dir: join(dir, 'sim'), clusters }, 4096);
    try {
      const env = { ...process.env, XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config'), NO_COLOR: '1' };
      const out = join(dir, 'stdout');
      const err = join(dir, 'stderr');
      const before = await sim.stats();
      const m = await measure(process.execPath, [CLI, 'apply', '-i', ready.inventoryPath, '--yes', '--json', '-q', '--poll-ms', String(o.pollMs)], { env, stdoutFile: out, stderrFile: err, scratchDir: dir });
      const after = await sim.stats();
      const report = JSON.parse(await readFile(out, 'utf8')) as ApplyJson;
      const rebooted = report.nodes?.filter((n) => n.outcome === 'applied' && n.rebooted).length ?? 0;
      if (m.code !== 0 || !report.ok || rebooted !== o.clusters * o.nodesPerCluster) {
        const bad = report.nodes?.find((n) => n.outcome !== 'applied');
        throw new Error(`apply failed (exit ${m.code}, ${rebooted} nodes rebooted${bad ? `; ${bad.node}: ${bad.message}` : ''}): ${(await readFile(err, 'utf8')).slice(0, 500)}`);
      }
      const d = connectionDeltas(before, after);
      const runsDir = join(dir, 'state', 'pve-passthrough', 'runs');
      const logFile = (await readdir(runsDir)).find((f) => f.endsWith('.jsonl'));
      if (!logFile) throw new Error('apply wrote no run log');
      const breakdown = rolloutBreakdown(await readFile(join(runsDir, logFile), 'utf8'), m.wallS, o.rebootMs / 1000);
      const run = { wallS: m.wallS, cpuS: m.cpuS, maxRssMb: m.maxRssMb, overheadS: m.wallS - criticalPathS, connMin: Math.min(...d), connMax: Math.max(...d), breakdown };
      runs.push(run);
      const b = breakdown;
      o.log(`  apply rep ${r + 1}/${o.reps}: wall ${m.wallS.toFixed(2)} s, critical path ${criticalPathS.toFixed(2)} s, overhead ${run.overheadS.toFixed(2)} s (${((100 * run.overheadS) / criticalPathS).toFixed(1)} %): process ${b.processS.toFixed(2)}, lead-in ${b.leadInS.toFixed(2)}, noticing ${b.reboots} reboots ${b.noticeS.toFixed(2)}, handovers ${b.handoverS.toFixed(2)}, tail ${b.tailS.toFixed(2)}; conns/host ${run.connMin}–${run.connMax}`);
    } finally {
      await sim.quit();
      await rm(dir, { recursive: true, force: true });
    }
  }
  return {
    clusters: o.clusters,
    nodesPerCluster: o.nodesPerCluster,
    rebootS: o.rebootMs / 1000,
    pollMs: o.pollMs,
    criticalPathS,
    runs,
    wallS: summarize(runs.map((x) => x.wallS)),
    overheadS: summarize(runs.map((x) => x.overheadS)),
    overheadPct: summarize(runs.map((x) => (100 * x.overheadS) / criticalPathS)),
    breakdown: {
      processS: median(runs.map((x) => x.breakdown.processS)),
      leadInS: median(runs.map((x) => x.breakdown.leadInS)),
      noticeS: median(runs.map((x) => x.breakdown.noticeS)),
      handoverS: median(runs.map((x) => x.breakdown.handoverS)),
      tailS: median(runs.map((x) => x.breakdown.tailS)),
    },
  };
}
