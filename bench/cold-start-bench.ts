/**
 * Figure 3: CLI cold start. `--help` and `verify --help` against bare
 * `node -e 0`, interleaved, so that what is measured is what the CLI loads
 * before it can print its help.
 */
import { join } from 'node:path';
import { measure } from './measure.js';
import { CLI } from './paths.js';
import { median, summarize, type Summary } from './stats.js';

export interface ColdStartFigure {
  readonly reps: number;
  readonly node: Summary;
  readonly help: Summary;
  readonly verifyHelp: Summary;
  /** Median of the paired differences to bare node, per repetition (seconds). */
  readonly helpOverNode: Summary;
  readonly verifyHelpOverNode: Summary;
  /** CPU seconds (user + system): less noisy than wall time on a busy machine. */
  readonly cpu: { readonly node: Summary; readonly help: Summary; readonly verifyHelp: Summary };
}

export async function coldStartBench(reps: number, workDir: string, log: (s: string) => void): Promise<ColdStartFigure> {
  const cases = {
    node: ['-e', '0'],
    help: [CLI, '--help'],
    verifyHelp: [CLI, 'verify', '--help'],
  } as const;
  type Key = keyof typeof cases;
  const keys = Object.keys(cases) as Key[];
  const samples: Record<Key, number[]> = { node: [], help: [], verifyHelp: [] };
  const cpu: Record<Key, number[]> = { node: [], help: [], verifyHelp: [] };
  const io = { stdoutFile: join(workDir, 'cold-stdout'), stderrFile: join(workDir, 'cold-stderr'), scratchDir: workDir };
  const once = (k: Key) => measure(process.execPath, cases[k], io);
  // One unmeasured round: the files are in the page cache afterwards, as they are for a user's second run.
  for (const k of keys) await once(k);
  for (let r = 0; r < reps; r++) {
    // Rotate the order so no case always runs right after another.
    const order = keys.map((_, i) => keys[(i + r) % keys.length]!);
    for (const k of order) {
      const m = await once(k);
      if (m.code !== 0) throw new Error(`cold start: ${cases[k].join(' ')} exited ${m.code}`);
      samples[k].push(m.wallS);
      cpu[k].push(m.cpuS);
    }
  }
  const diff = (k: Key) => samples[k].map((x, i) => x - samples.node[i]!);
  log(`  cold start: node ${ms(median(samples.node))}, --help ${ms(median(samples.help))}, verify --help ${ms(median(samples.verifyHelp))}`);
  return {
    reps,
    node: summarize(samples.node),
    help: summarize(samples.help),
    verifyHelp: summarize(samples.verifyHelp),
    helpOverNode: summarize(diff('help')),
    verifyHelpOverNode: summarize(diff('verifyHelp')),
    cpu: { node: summarize(cpu.node), help: summarize(cpu.help), verifyHelp: summarize(cpu.verifyHelp) },
  };
}

function ms(s: number): string {
  return `${(s * 1000).toFixed(0)} ms`;
}
