/**
 * End-to-end tests run the compiled CLI (dist/), exactly as a user does, and
 * `demo`/`sim` load the simulator package's build (mocks/dist/,
 * @pve-passthrough/simulator). `npm ci` builds both (prepare: one `tsc -b`);
 * during development this runs that build again when a TypeScript source is
 * newer than the build info tsc -b writes for its project.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest .ts file under dir; build output and installed packages are not sources. */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'dist' || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p));
    else if (e.name.endsWith('.ts')) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  const stale =
    !mtime(join(root, 'dist/src/cli/main.js')) ||
    !mtime(join(root, 'mocks/dist/index.js')) ||
    Math.max(newest(join(root, 'src')), newest(join(root, 'bench'))) > mtime(join(root, 'dist/tsconfig.build.tsbuildinfo')) ||
    newest(join(root, 'mocks')) > mtime(join(root, 'mocks/dist/tsconfig.tsbuildinfo'));
  // Worktrees that share another checkout's node_modules get that checkout's simulator: say so rather than test it silently.
  let linked = '';
  try {
    linked = realpathSync(join(root, 'node_modules/@pve-passthrough/simulator'));
  } catch {
    console.warn('global-setup: node_modules has no @pve-passthrough/simulator (the mocks/ workspace): run npm install; demo/sim tests will fail');
  }
  if (linked && linked !== realpathSync(join(root, 'mocks'))) console.warn(`global-setup: node_modules links the simulator of another checkout (${linked}); demo/sim tests run that build, not this checkout's mocks/`);
  if (stale) execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
}
