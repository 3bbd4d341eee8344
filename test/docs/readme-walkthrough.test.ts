/**
 * README's "drive the commands yourself" block, run as written against the
 * simulator: the `sim` line in the background until it prints `ready:`, then
 * every other line in order, each exiting as its `# exit N` comment says (0
 * when it says nothing). The only change is the folder: the README's
 * `--inventory-out` folder (/tmp/sim) becomes a fresh temporary one, so runs
 * never meet. A README edit that breaks a command, its flags or its documented
 * exit code fails here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../safety/cli.js';
import { binPath, parseCommand, readmeBlock } from './readme-commands.js';

const lines = readmeBlock('To drive the commands yourself').map((l) => {
  if (l.length !== 1) throw new Error(`one command per line in the README walkthrough: ${l.join(' && ')}`);
  return parseCommand(l[0]!);
});
const sim = lines[0]!;
const rest = lines.slice(1);
const out = sim.args[sim.args.indexOf('--inventory-out') + 1];
const home = mkdtempSync(join(tmpdir(), 'pvpt-readme-'));
const folder = join(home, 'sim');
/** The README's folder replaced by the temporary one, in every argument. */
const localise = (args: readonly string[]) => args.map((a) => (out && a.startsWith(`${dirname(out)}/`) ? join(folder, a.slice(dirname(out).length + 1)) : a));

let child: ChildProcess | undefined;

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.kill('SIGINT');
    await exited;
  }
  rmSync(home, { recursive: true, force: true });
});

describe('README walkthrough against the simulator', () => {
  it('starts with `sim --inventory-out FILE` and goes on with pve-passthrough commands on that file', () => {
    expect(sim.args[0]).toBe('sim');
    expect(out, 'the sim line names --inventory-out').toBeTruthy();
    expect(rest.length).toBeGreaterThan(0);
    for (const c of rest) expect(c.args, c.text).toContain(out);
  });

  it(`\`${sim.text}\` prints ready`, async () => {
    child = spawn(process.execPath, [binPath(), ...localise(sim.args)], { env: { PATH: process.env.PATH ?? '', ...cliEnv(home) }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child!.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString('utf8');
        if (/^ready: /m.test(stderr)) resolve();
      });
      child!.once('exit', (code) => reject(new Error(`sim exited (${code}) before ready: ${stderr}`)));
    });
    expect(stderr).toContain(join(folder, out!.slice(dirname(out!).length + 1)));
  }, 60_000);

  for (const c of rest) {
    it(`\`${c.text}\` exits ${c.exit ?? 0}`, async () => {
      expect(child?.exitCode, 'the sim is running').toBeNull();
      const r = await runCli(localise(c.args), { home, timeoutMs: 170_000 });
      expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(c.exit ?? 0);
    }, 180_000);
  }
});
