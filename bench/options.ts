/** Command-line flags of `npm run bench` (node dist/bench/run.js). */
import { parseArgs } from 'node:util';

export const FIGURES = ['verify', 'apply', 'cold-start', 'api', 'live-bind'] as const;
export type Figure = (typeof FIGURES)[number];

export interface BenchOptions {
  readonly quick: boolean;
  readonly only: readonly Figure[];
  readonly sizes: readonly number[];
  /** Repetitions per verify size; defaults depend on the size. */
  readonly reps?: number;
  readonly parallel: number;
  /** Simulated reboot times for the apply figure (one figure each). */
  readonly rebootMs: readonly number[];
  readonly pollMs: number;
  readonly out: string | undefined;
}

export const USAGE = `usage: npm run bench -- [--quick] [--only verify,apply,cold-start,api,live-bind] [--sizes 10,100,1000]
                        [--reps N] [--parallel 16] [--reboot-ms 2000,6000] [--poll-ms 100] [--out results.json]

  --quick      fewer sizes and repetitions (about a minute)
  --only       run only these figures
  --sizes      host counts for the verify figure
  --reps       repetitions per figure (default: depends on the figure and size)
  --parallel   hosts at once, for the tool (--concurrency) and the baseline (xargs -P)
  --reboot-ms  simulated reboot times in the apply figure (default 2000,6000; --quick 2000)
  --poll-ms    the tool's reboot poll interval in the apply figure
  --out        JSON results file (default: bench/results/latest.json)`;

function ints(s: string, flag: string): number[] {
  const xs = s.split(',').map((x) => Number(x.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 1)) throw new Error(`${flag}: expected whole numbers ≥ 1, got "${s}"`);
  return xs;
}

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      sizes: { type: 'string' },
      reps: { type: 'string' },
      parallel: { type: 'string', default: '16' },
      'reboot-ms': { type: 'string' },
      'poll-ms': { type: 'string', default: '100' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : [...FIGURES];
  for (const f of only) if (!(FIGURES as readonly string[]).includes(f)) throw new Error(`--only: unknown figure "${f}" (known: ${FIGURES.join(', ')})`);
  const quick = values.quick ?? false;
  return {
    quick,
    only: only as Figure[],
    sizes: values.sizes ? ints(values.sizes, '--sizes') : quick ? [10, 100] : [10, 100, 1000],
    ...(values.reps ? { reps: ints(values.reps, '--reps')[0]! } : {}),
    parallel: ints(values.parallel ?? '16', '--parallel')[0]!,
    rebootMs: values['reboot-ms'] ? ints(values['reboot-ms'], '--reboot-ms') : quick ? [2000] : [2000, 6000],
    pollMs: ints(values['poll-ms'] ?? '100', '--poll-ms')[0]!,
    out: values.out,
  };
}
