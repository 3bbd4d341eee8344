/**
 * Drives scripts/qemu/*.sh and the compiled CLI for the end-to-end flow. Every child process is
 * spawned with an argument vector (no shell strings built here); stderr lines are timestamped as
 * they arrive so a phase's inner steps (initramfs, reboot, …) can be timed from the outside.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const SCRIPTS = join(ROOT, 'scripts', 'qemu');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  /** stderr lines with the milliseconds since start at which each arrived. */
  readonly lines: readonly { readonly at: number; readonly text: string }[];
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly timeoutMs: number;
  /** Mirror stderr to ours (progress of the long phases). */
  readonly echo?: boolean;
}

export function run(file: string, args: readonly string[], o: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(file, args, { cwd: o.cwd ?? ROOT, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines: { at: number; text: string }[] = [];
    const timer = setTimeout(() => child.kill('SIGTERM'), o.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (o.echo) process.stderr.write(d);
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ at: Date.now() - started, text });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (partial) lines.push({ at: Date.now() - started, text: partial });
      resolve({ code, stdout, stderr, ms: Date.now() - started, lines });
    });
  });
}

export function script(name: string, args: readonly string[], o: RunOptions): Promise<RunResult> {
  return run('bash', [join(SCRIPTS, name), ...args], o);
}

/** A TCP port on 127.0.0.1 that was free a moment ago (QEMU's hostfwd binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Milliseconds as "1 min 23 s" / "4.2 s". */
export function formatMs(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * Splits a command's timestamped stderr into steps: each progress line "… cluster/node: <what>"
 * starts a step that lasts until the next line. Used to time update-initramfs and the reboot.
 */
export function stepDurations(lines: RunResult['lines'], endMs: number): { step: string; ms: number }[] {
  const marks = lines
    .map((l) => ({ at: l.at, m: /^… [^ ]+: (.+)$/.exec(l.text.trim()) }))
    // "still <step> (1m 02s)" lines (the renderer's heartbeat off a TTY) continue the step before them.
    .filter((x): x is { at: number; m: RegExpExecArray } => x.m !== null && !x.m[1]?.startsWith('still '))
    .map((x) => ({ at: x.at, step: x.m[1] ?? '' }));
  return marks.map((m, i) => ({ step: m.step, ms: (marks[i + 1]?.at ?? endMs) - m.at }));
}
