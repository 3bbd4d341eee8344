// README's quick start: `npx pve-passthrough demo` runs the whole flow, exits 0 and ends green, saying the refusal it shows is part of the lesson.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

describe('demo', () => {
  it('ends green and explains the refusal', () => {
    const r = spawnSync(process.execPath, ['dist/src/cli/main.js', 'demo'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 170_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/✖ unexpected/);
    expect(r.stdout).toMatch(/\(Expected: homelab was refused on purpose .*part of the lesson/);
    expect(r.stdout).toMatch(/✔ The demo ran as designed \(the refusals it showed are part of the lesson\)\.\n/);
  }, 180_000);
});
