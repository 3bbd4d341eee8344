#!/usr/bin/env node
/**
 * `npm run bench`: the performance figures of docs/performance.md. Prints a
 * table per figure and writes every sample to a JSON file. Timings live here
 * and never in test assertions.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { machineInfo } from './machine.js';
import { parseOptions, USAGE } from './options.js';
import { PACKAGE_ROOT } from './paths.js';
import { requireBaselineTools, requireGnuTime } from './measure.js';
import { verifyBench, type VerifyFigure } from './verify-bench.js';
import { apiTable, applyTable, coldStartTable, verifyTable } from './report.js';
import { applyBench, type ApplyFigure } from './apply-bench.js';
import { coldStartBench } from './cold-start-bench.js';
import { apiBench } from './api-bench.js';
import { liveBindBench } from './live-bind.js';

async function main(): Promise<number> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const o = parsed;
  requireGnuTime();
  if (o.only.includes('verify')) requireBaselineTools();
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const workDir = await mkdtemp(join(tmpdir(), 'pvpt-bench-'));
  const results: Record<string, unknown> = { date: new Date().toISOString(), machine: await machineInfo(), loadBefore: loadavg(), options: o };
  try {
    if (o.only.includes('verify')) {
      const figs: VerifyFigure[] = [];
      for (const hosts of o.sizes) {
        const reps = o.reps ?? (o.quick ? 3 : hosts >= 1000 ? 3 : 5);
        log(`verify: ${hosts} hosts, ${reps} repetitions`);
        figs.push(await verifyBench({ hosts, reps, parallel: o.parallel, perCluster: 10, workDir, log }));
      }
      results.verify = figs;
      process.stdout.write(`\n${verifyTable(figs)}\n\n`);
    }
    if (o.only.includes('apply')) {
      const figs: ApplyFigure[] = [];
      for (const rebootMs of o.rebootMs) {
        // Long reboots only show that the overhead does not grow with them: fewer repetitions.
        const reps = o.reps ?? (o.quick || rebootMs > 3000 ? 1 : 3);
        log(`apply: 3 clusters × 5 nodes, reboot ${rebootMs} ms, ${reps} repetitions`);
        const fig = await applyBench({ clusters: 3, nodesPerCluster: 5, rebootMs, pollMs: o.pollMs, reps, workDir, log });
        figs.push(fig);
        process.stdout.write(`${applyTable(fig)}\n\n`);
      }
      results.apply = figs;
    }
    if (o.only.includes('cold-start')) {
      const reps = o.reps ?? (o.quick ? 7 : 21);
      log(`cold start: ${reps} repetitions`);
      const fig = await coldStartBench(reps, workDir, log);
      results.coldStart = fig;
      process.stdout.write(`${coldStartTable(fig)}\n\n`);
    }
    if (o.only.includes('api')) {
      log('api: requests per VM');
      const fig = await apiBench({ nodes: 3, vmsPerNode: o.quick ? [1, 2] : [1, 4], workDir, log });
      results.api = fig;
      process.stdout.write(`${apiTable(fig)}\n\n`);
    }
    if (o.only.includes('live-bind')) {
      const reps = o.reps ?? (o.quick ? 1 : 3);
      const rebootMs = o.rebootMs[0] ?? 2000;
      log(`live-bind: 4 nodes (2 can move live), reboot ${rebootMs} ms, ${reps} repetitions`);
      const fig = await liveBindBench({ nodes: 4, rebootMs, pollMs: o.pollMs, reps, workDir, log });
      results.liveBind = fig;
      process.stdout.write(`reboot only where needed (4 nodes, 2 move live, reboot ${rebootMs} ms): --reboot=needed ${fig.neededS.median.toFixed(2)} s [${fig.neededS.min.toFixed(2)}–${fig.neededS.max.toFixed(2)}], --reboot=always ${fig.alwaysS.median.toFixed(2)} s [${fig.alwaysS.min.toFixed(2)}–${fig.alwaysS.max.toFixed(2)}]: ${fig.savedS.toFixed(2)} s (${fig.savedPct.toFixed(0)} %) saved\n\n`);
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  results.loadAfter = loadavg();
  const out = resolve(o.out ?? join(PACKAGE_ROOT, 'bench', 'results', 'latest.json'));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  log(`results written to ${out}`);
  return 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
