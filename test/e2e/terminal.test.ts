/**
 * The CLI on a real terminal (tmux): the password prompt stays visible while
 * progress runs, warnings stay on screen, the live area never duplicates
 * lines (on a terminal shorter than the work), and `apply --yes` shows the
 * plan before applying. Skipped, saying so, when tmux is not installed
 * (CI: scripts/install-test-deps.sh installs it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS } from '../../mocks/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

const ROOT = join(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const hasTmux = spawnSync('sh', ['-c', 'command -v tmux']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'pvpt-tty-'));
const socket = join(dir, 'tmux.sock');
const tmux = (...args: string[]) => execFileSync('tmux', ['-S', socket, ...args], { encoding: 'utf8' });

/** The whole pane, scrollback included, as plain text. */
const screen = (session: string) => tmux('capture-pane', '-p', '-J', '-S', '-2000', '-t', session);

async function until(session: string, pattern: RegExp, ms = 60_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const text = screen(session);
    if (pattern.test(text)) return text;
    if (Date.now() > end) throw new Error(`not seen within ${ms} ms: ${pattern}\n--- screen ---\n${text}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function start(session: string, cmd: string, size: { x: number; y: number }): void {
  // Colour off, no agent (the inventory asks for one: that warning must stay visible), state kept apart.
  const env = `env -u SSH_AUTH_SOCK -u CI NO_COLOR=1 XDG_STATE_HOME=${dir} PVE_PASSTHROUGH_CONFIG_DIR=${dir}`;
  tmux('new-session', '-d', '-s', session, '-x', String(size.x), '-y', String(size.y), `${env} ${cmd}; echo "EXIT=$?"; sleep 600`);
}

describe.skipIf(!hasTmux)('on a real terminal (tmux)', () => {
  let tf: TestFleet;
  let inv: string;
  let password: string;
  beforeAll(async () => {
    tf = await testFleet(BUILTIN_SCENARIOS.converge, { rebootDelayMs: 80 });
    const raw = JSON.parse(readFileSync(tf.fleet.inventoryPath, 'utf8')) as { clusters: Array<{ name: string; api: { auth: { ticket: { password: { file: string } | Record<string, unknown> } } }; nodes: Array<{ ssh: Record<string, unknown> }> }> };
    const lab = raw.clusters.find((c) => c.name === 'lab')!;
    password = readFileSync((lab.api.auth.ticket.password as { file: string }).file, 'utf8').trim();
    lab.api.auth.ticket.password = { env: 'PVPT_TTY_TEST_UNSET', prompt: true };
    lab.nodes[0]!.ssh.agent = true;
    inv = join(dir, 'inventory.json');
    writeFileSync(inv, JSON.stringify({ ...raw, clusters: [lab] }));
  });
  afterAll(async () => {
    spawnSync('tmux', ['-S', socket, 'kill-server']);
    await tf?.close();
  });

  it('plan: the password prompt stays visible while progress runs; warnings stay; no line is drawn twice', async () => {
    start('plan', `node ${MAIN} plan -i ${inv} --poll-ms 50`, { x: 110, y: 8 });
    const prompting = await until('plan', /password for root@pam/);
    expect(prompting).toMatch(/password for root@pam/);
    // Progress keeps arriving (SSH facts) while the prompt waits: it must not redraw over the prompt.
    for (let i = 0; i < 10; i++) {
      await new Promise((r) => setTimeout(r, 200));
      expect(screen('plan')).toMatch(/password for root@pam/);
    }
    tmux('send-keys', '-t', 'plan', '-l', password);
    tmux('send-keys', '-t', 'plan', 'Enter');
    const done = await until('plan', /EXIT=\d/);
    expect(done).toMatch(/EXIT=[02]/);
    expect(done).toMatch(/password for root@pam/); // still on screen afterwards
    // Nothing was written into the prompt's line while it waited.
    for (const line of done.split('\n').filter((l) => l.includes('password for root@pam'))) expect(line).toMatch(/^\S* ?lab: password for root@pam(?: \[input is masked\])?\s*$/);
    expect(done).not.toContain(password);
    expect(done).toMatch(/warning: node pve1: .*ssh\.agent is set but no agent socket is known/);
    // Every finished item and heading is printed exactly once, although the terminal is shorter than the work.
    const lines = done.split('\n').map((l) => l.trimEnd()).filter((l) => /^(?:✔|✖|↓|») /.test(l));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((l, i) => lines.indexOf(l) !== i), done).toEqual([]);
    expect(done).toMatch(/Plan: /);
    if (process.env.PVPT_SHOW_SCREEN) process.stderr.write(`--- screen ---\n${done}\n`);
  }, 120_000);

  it('apply --yes prints the plan before applying', async () => {
    start('apply', `PVPT_TTY_TEST_UNSET=${password} node ${MAIN} apply -i ${inv} --yes --poll-ms 50 --node pve1`, { x: 110, y: 10 });
    const done = await until('apply', /EXIT=\d/, 110_000);
    const planAt = done.search(/node pve1 \(/);
    const appliedAt = done.search(/applied\s+node lab\/pve1/);
    expect(planAt, done).toBeGreaterThanOrEqual(0);
    expect(appliedAt, done).toBeGreaterThan(planAt);
    const lines = done.split('\n').map((l) => l.trimEnd()).filter((l) => /^(?:✔|✖|↓|») /.test(l));
    expect(lines.filter((l, i) => lines.indexOf(l) !== i), done).toEqual([]);
  }, 120_000);
});
