// README's quick start, as written: `npm ci && npx pve-passthrough demo` runs the whole flow, exits 0 and ends green,
// saying the refusal it shows is part of the lesson. `npm ci` and `npm test` are how this suite itself got here.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { binPath, parseCommand, readmeBlock, ROOT } from '../docs/readme-commands.js';

const quickStart = readmeBlock('## Set up and try it').flat().map((c) => c.replace(/#.*/, '').trim());
const commands = quickStart.filter((c) => c !== 'npm ci' && c !== 'npm test').map(parseCommand);

describe('demo (README quick start)', () => {
  it('the quick start is npm ci, npm test and pve-passthrough commands only', () => {
    expect(quickStart).toContain('npm ci');
    expect(quickStart).toContain('npm test');
    expect(commands.map((c) => c.args[0])).toEqual(['demo']);
  });

  it.each(commands.map((c) => [c.text, c] as const))('`%s` ends green and explains the refusal', (_, c) => {
    const r = spawnSync(process.execPath, [binPath(), ...c.args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 170_000 });
    expect(r.status, r.stderr).toBe(c.exit ?? 0);
    expect(r.stdout).not.toMatch(/✖ unexpected/);
    expect(r.stdout).toMatch(/\(Expected: homelab was refused on purpose .*part of the lesson/);
    expect(r.stdout).toMatch(/✔ The demo ran as designed \(the refusals it showed are part of the lesson\)\.\n/);
  }, 180_000);
});
