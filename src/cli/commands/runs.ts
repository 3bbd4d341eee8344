import { listRuns, readRun, stateDir } from '../../engine/runlog.js';
import { EXIT } from '../exit-codes.js';

export function runsList(json: boolean): number {
  const runs = listRuns();
  if (json) process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
  else if (runs.length === 0) process.stderr.write(`no runs recorded in ${stateDir()}\n`);
  else for (const r of runs) process.stdout.write(`${r.runId}  ${r.command.padEnd(8)}  ${r.time}  ${r.summary ? JSON.stringify(r.summary) : ''}\n`);
  return EXIT.ok;
}

export function runsShow(id: string): number {
  const text = readRun(id);
  if (text === null) {
    process.stderr.write(`no run ${id} in ${stateDir()}\n`);
    return EXIT.error;
  }
  process.stdout.write(text);
  return EXIT.ok;
}
