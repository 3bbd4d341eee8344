/**
 * Run one child process and measure it: wall time (our clock around spawn and
 * exit), CPU seconds and peak RSS from GNU time, which reports the child's
 * rusage including every descendant it waited for. For a process tree (xargs
 * and its ssh children) peak RSS is the largest single process, not the sum.
 */
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export const GNU_TIME = '/usr/bin/time';

export interface Measured {
  readonly wallS: number;
  readonly cpuS: number;
  readonly maxRssMb: number;
  readonly code: number | null;
}

export interface MeasureOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** stdout goes to this file (the runner never reads it through a pipe, which would cost CPU here). */
  readonly stdoutFile: string;
  /** stderr goes here (kept for error messages). */
  readonly stderrFile: string;
  readonly scratchDir: string;
}

export function requireGnuTime(): void {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} not found: install GNU time (apt-get install -y time)`);
}

/** The verify figure's baseline needs the OpenSSH client (ssh, ssh-keyscan) and xargs on PATH. */
export function requireBaselineTools(): void {
  for (const tool of ['ssh', 'ssh-keyscan', 'xargs']) {
    const found = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(join(d, tool)));
    if (!found) throw new Error(`${tool} not found on PATH: install the OpenSSH client (apt-get install -y openssh-client) for the verify baseline`);
  }
}

export async function measure(cmd: string, args: readonly string[], o: MeasureOptions): Promise<Measured> {
  const timeFile = join(o.scratchDir, `time-${process.pid}-${Math.floor(performance.now() * 1000)}.txt`);
  const out = openSync(o.stdoutFile, 'w');
  const err = openSync(o.stderrFile, 'w');
  try {
    const start = performance.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(GNU_TIME, ['-f', '%U %S %M', '-o', timeFile, '--', cmd, ...args], { stdio: ['ignore', out, err], env: o.env ?? process.env });
      child.once('error', reject);
      child.once('exit', (c) => resolve(c));
    });
    const wallS = (performance.now() - start) / 1000;
    const line = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const [user, sys, rssKb] = line.split(' ').map(Number);
    if (user === undefined || sys === undefined || rssKb === undefined || [user, sys, rssKb].some(Number.isNaN)) throw new Error(`cannot read GNU time output: ${line}`);
    return { wallS, cpuS: user + sys, maxRssMb: rssKb / 1024, code };
  } finally {
    closeSync(out);
    closeSync(err);
    rmSync(timeFile, { force: true });
  }
}
