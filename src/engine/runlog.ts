/**
 * Run logs kept locally: one JSON-lines file per run (every event, secrets
 * redacted) plus its summary as the last line, in the user's state directory.
 * The newest `keep` runs are kept.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { redact } from '../errors.js';

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'pve-passthrough', 'runs');
}

export class RunLog {
  readonly file: string;

  constructor(readonly runId: string, readonly command: string, private readonly secrets: () => string[], dir = stateDir(), keep = 50) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.file = join(dir, `${runId}.jsonl`);
    this.write({ type: 'run', runId, command, time: new Date().toISOString() });
    pruneRuns(dir, keep);
  }

  write(entry: Record<string, unknown>): void {
    appendFileSync(this.file, `${redact(JSON.stringify(entry), this.secrets())}\n`, { mode: 0o600 });
  }
}

export interface RunSummary {
  readonly runId: string;
  readonly command: string;
  readonly time: string;
  readonly summary?: unknown;
}

export function listRuns(dir = stateDir()): RunSummary[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  } catch {
    return [];
  }
  return files.map((f) => {
    const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
    const first = JSON.parse(lines[0] ?? '{}') as { runId?: string; command?: string; time?: string };
    const last = JSON.parse(lines.at(-1) ?? '{}') as { type?: string; summary?: unknown };
    return { runId: first.runId ?? f.replace(/\.jsonl$/, ''), command: first.command ?? '?', time: first.time ?? '?', summary: last.type === 'summary' ? last.summary : undefined };
  });
}

export function readRun(runId: string, dir = stateDir()): string | null {
  if (!/^[A-Za-z0-9_.-]+$/.test(runId)) return null;
  try {
    return readFileSync(join(dir, `${runId}.jsonl`), 'utf8');
  } catch {
    return null;
  }
}

function pruneRuns(dir: string, keep: number): void {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  for (const f of files.slice(0, Math.max(0, files.length - keep))) rmSync(join(dir, f), { force: true });
}
