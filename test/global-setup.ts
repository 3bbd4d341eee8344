/**
 * End-to-end tests run the compiled CLI (dist/), exactly as a user does.
 * `npm ci` builds it (prepare); during development this rebuilds it when a
 * source file is newer than the build.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  let built = 0;
  try {
    built = statSync(join(root, 'dist/src/cli/main.js')).mtimeMs;
  } catch {
    built = 0;
  }
  const sources = Math.max(newest(join(root, 'src')), newest(join(root, 'mocks')));
  if (sources > built) execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}
