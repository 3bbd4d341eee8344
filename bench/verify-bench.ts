/**
 * Figure 1: `verify` over N simulated hosts against the OpenSSH baseline,
 * interleaved in the same run (tool, baseline, baseline, tool, …) so that
 * machine noise hits both alike.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { baselineCommand, countSections, factsScript, factsSectionCount, writePorts } from './baseline.js';
import { writeKnownHosts } from './known-hosts.js';
import { measure, type Measured } from './measure.js';
import { CLI } from './paths.js';
import { hostOnlyClusters } from './scenario.js';
import { connectionDeltas, SimProcess } from './sim-process.js';
import { withFdLimit } from './limits.js';
import { summarize, type Summary } from './stats.js';

export interface VerifyRun extends Measured {
  readonly who: 'tool' | 'baseline';
  /** Min and max SSH connections a host saw during this run. */
  readonly connMin: number;
  readonly connMax: number;
  readonly simCpuS: number;
}

export interface VerifyFigure {
  readonly hosts: number;
  readonly parallel: number;
  readonly runs: readonly VerifyRun[];
  readonly tool: { wallS: Summary; cpuS: Summary; maxRssMb: Summary; simCpuS: Summary };
  readonly baseline: { wallS: Summary; cpuS: Summary; maxRssMb: Summary; simCpuS: Summary };
  /** tool/baseline wall time, paired per repetition. */
  readonly ratio: Summary;
  readonly connectionsPerHost: { min: number; max: number };
  readonly baselineConnectionsPerHost: { min: number; max: number };
}

export interface VerifyBenchOptions {
  readonly hosts: number;
  readonly reps: number;
  readonly parallel: number;
  readonly perCluster: number;
  readonly workDir: string;
  readonly log: (s: string) => void;
}

const NONCE = '0123456789abcdef';

export async function verifyBench(o: VerifyBenchOptions): Promise<VerifyFigure> {
  const dir = await mkdtemp(join(o.workDir, `verify-${o.hosts}-`));
  // The simulator: a listening socket per host plus one per open connection (the tool keeps all of them).
  const fdNeed = 3 * o.hosts + 256;
  const { sim, ready } = await SimProcess.start({ dir: join(dir, 'sim'), clusters: hostOnlyClusters(o.hosts, o.perCluster) }, fdNeed);
  try {
    const knownHosts = join(dir, 'known_hosts');
    const portsFile = join(dir, 'ports.txt');
    await writeKnownHosts(ready.hosts, knownHosts);
    await writePorts(ready.hosts, portsFile);
    const script = factsScript(NONCE);
    const expectedSections = o.hosts * factsSectionCount();
    const env = { ...process.env, XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config'), NO_COLOR: '1' };
    const out = join(dir, 'stdout');
    const err = join(dir, 'stderr');

    const runTool = async (): Promise<Measured> => {
      const [cmd, args] = withFdLimit(process.execPath, [CLI, 'verify', '-i', ready.inventoryPath, '--json', '-q', '--concurrency', String(o.parallel)], o.hosts + 256);
      const m = await measure(cmd, args, { env, stdoutFile: out, stderrFile: err, scratchDir: dir });
      // 0 compliant, 2 drift (the bench fleet declares a GPU that is not set up yet): both are complete checks.
      const report = JSON.parse(await readFile(out, 'utf8')) as { nodes?: { error?: unknown }[] };
      const failed = report.nodes?.filter((n) => n.error).length ?? -1;
      if ((m.code !== 0 && m.code !== 2) || report.nodes?.length !== o.hosts || failed !== 0) {
        throw new Error(`tool verify failed (exit ${m.code}, ${report.nodes?.length} nodes, ${failed} with errors): ${(await readFile(err, 'utf8')).slice(0, 500)}`);
      }
      return m;
    };
    const runBaseline = async (): Promise<Measured> => {
      const [bcmd, bargs] = baselineCommand({ portsFile, keyPath: ready.keyPath, knownHosts }, script, o.parallel);
      const [cmd, args] = withFdLimit(bcmd, bargs, 1024);
      const m = await measure(cmd, args, { env, stdoutFile: out, stderrFile: err, scratchDir: dir });
      const sections = countSections(await readFile(out, 'utf8'), NONCE);
      if (m.code !== 0 || sections !== expectedSections) {
        throw new Error(`baseline failed (exit ${m.code}, ${sections}/${expectedSections} sections): ${(await readFile(err, 'utf8')).slice(0, 500)}`);
      }
      return m;
    };

    // One unmeasured round each (page cache, the simulator's JIT); at large N the runs are long enough without.
    if (o.hosts < 500) {
      await runTool();
      await runBaseline();
    }

    const runs: VerifyRun[] = [];
    for (let r = 0; r < o.reps; r++) {
      const order: ('tool' | 'baseline')[] = r % 2 === 0 ? ['tool', 'baseline'] : ['baseline', 'tool'];
      for (const who of order) {
        const before = await sim.stats();
        const m = who === 'tool' ? await runTool() : await runBaseline();
        const after = await sim.stats();
        const d = connectionDeltas(before, after);
        runs.push({ who, ...m, connMin: Math.min(...d), connMax: Math.max(...d), simCpuS: after.cpuSeconds });
        o.log(`  verify N=${o.hosts} rep ${r + 1}/${o.reps} ${who.padEnd(8)} wall ${m.wallS.toFixed(2)} s, cpu ${m.cpuS.toFixed(2)} s, rss ${m.maxRssMb.toFixed(0)} MB, conns/host ${Math.min(...d)}–${Math.max(...d)}`);
      }
    }
    const of = (who: 'tool' | 'baseline') => runs.filter((x) => x.who === who);
    const side = (who: 'tool' | 'baseline') => {
      const xs = of(who);
      return { wallS: summarize(xs.map((x) => x.wallS)), cpuS: summarize(xs.map((x) => x.cpuS)), maxRssMb: summarize(xs.map((x) => x.maxRssMb)), simCpuS: summarize(xs.map((x) => x.simCpuS)) };
    };
    const tools = of('tool');
    const bases = of('baseline');
    const ratios = tools.map((t, i) => t.wallS / bases[i]!.wallS);
    return {
      hosts: o.hosts,
      parallel: o.parallel,
      runs,
      tool: side('tool'),
      baseline: side('baseline'),
      ratio: summarize(ratios),
      connectionsPerHost: { min: Math.min(...tools.map((x) => x.connMin)), max: Math.max(...tools.map((x) => x.connMax)) },
      baselineConnectionsPerHost: { min: Math.min(...bases.map((x) => x.connMin)), max: Math.max(...bases.map((x) => x.connMax)) },
    };
  } finally {
    await sim.quit();
    await rm(dir, { recursive: true, force: true });
  }
}
