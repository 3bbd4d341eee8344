/**
 * Runs the built CLI (dist/) as a user would: a child process with its own
 * state and config folders. `npm ci` / `npm run build` produce dist/.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../dist/src/cli/main.js');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Folder that gets state/ (XDG_STATE_HOME) and config/ (PVE_PASSTHROUGH_CONFIG_DIR). */
  readonly home: string;
  readonly env?: Record<string, string>;
  /** Called with each stderr chunk; may signal the child (Ctrl-C tests). */
  readonly onStderr?: (text: string, child: { kill(sig: NodeJS.Signals): boolean }) => void;
  readonly timeoutMs?: number;
}

export function cliEnv(home: string): Record<string, string> {
  const state = join(home, 'state');
  const config = join(home, 'config');
  mkdirSync(state, { recursive: true });
  mkdirSync(config, { recursive: true });
  return { XDG_STATE_HOME: state, PVE_PASSTHROUGH_CONFIG_DIR: config, XDG_CONFIG_HOME: config, HOME: home, NO_COLOR: '1' };
}

export function runCli(args: readonly string[], o: CliOptions): Promise<CliResult> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...cliEnv(o.home), ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => {
      const text = d.toString('utf8');
      stderr += text;
      o.onStderr?.(text, child);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
