/**
 * Install weight (issue 16 item 11): the simulator is its own package
 * (@pve-passthrough/simulator, the mocks/ workspace), so an install of the tool
 * alone has neither it nor msw/selfsigned. This builds that install from this
 * checkout: the files `npm pack` ships (package.json, dist/src) in a temporary
 * folder whose node_modules links every installed package except the simulator
 * and the packages only it needs. There, the library and the ordinary
 * commands work, and `demo`/`sim` exit 1 with one line naming the package and
 * the install command. (scripts/measure-install.sh does the same with real
 * tarballs from the registry and counts the packages; it needs the network.)
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
/** Packages only the simulator needs (its own dependencies and theirs): left out of the tool-only install. */
const SIMULATOR_ONLY = new Set(['@pve-passthrough', 'msw', '@mswjs', 'selfsigned']);

let dir: string;

function run(args: string[], cwd = dir) {
  return spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 });
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pvpt-nosim-'));
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'dist/src'), join(dir, 'dist/src'), { recursive: true });
  mkdirSync(join(dir, 'node_modules'));
  for (const name of readdirSync(join(ROOT, 'node_modules'))) {
    if (!SIMULATOR_ONLY.has(name)) symlinkSync(join(ROOT, 'node_modules', name), join(dir, 'node_modules', name));
  }
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the tool installed without its simulator', () => {
  it.each([['demo'], ['sim', '--inventory-out', 'x.json']])('`%s` exits 1 with one line naming the package and how to install it', (...args) => {
    const r = run(['dist/src/cli/main.js', ...args]);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`\`${args[0]}\` needs the simulator package @pve-passthrough/simulator, which is not installed`);
    expect(lines[0]).toContain(`npm install @pve-passthrough/simulator@${VERSION}`);
  });

  it('the library loads (src/index.ts never imports the simulator) and --help works', () => {
    const lib = run(['--input-type=module', '-e', "const m = await import('pve-passthrough'); console.log(['plan', 'apply', 'verify', 'loadInventory'].filter((k) => typeof m[k] === 'function').join(','));"]);
    expect(lib.status, lib.stderr).toBe(0);
    expect(lib.stdout.trim()).toBe('plan,apply,verify,loadInventory');
    const help = run(['dist/src/cli/main.js', '--help']);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/demo/);
  });

  /** A real copy (not a link) of the simulator package: its imports resolve from this folder, which has no msw. */
  function withSimulatorCopy(version: string | undefined, test: () => void) {
    const sim = join(dir, 'node_modules/@pve-passthrough/simulator');
    mkdirSync(sim, { recursive: true });
    try {
      const pkg = JSON.parse(readFileSync(join(ROOT, 'mocks/package.json'), 'utf8')) as { version: string };
      writeFileSync(join(sim, 'package.json'), JSON.stringify({ ...pkg, version: version ?? pkg.version }));
      cpSync(join(ROOT, 'mocks/dist'), join(sim, 'dist'), { recursive: true });
      test();
    } finally {
      rmSync(join(dir, 'node_modules/@pve-passthrough'), { recursive: true, force: true });
    }
  }

  it('a simulator of another version is refused, naming both versions and the install command', () => {
    withSimulatorCopy('0.0.1-other', () => {
      const r = run(['dist/src/cli/main.js', 'demo']);
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`needs @pve-passthrough/simulator ${VERSION} (the tool's own version), but 0.0.1-other is installed`);
      expect(lines[0]).toContain(`npm install @pve-passthrough/simulator@${VERSION}`);
    });
  });

  it('a simulator whose own dependency is missing is reported as it is, not as "not installed"', () => {
    withSimulatorCopy(undefined, () => {
      const r = run(['dist/src/cli/main.js', 'demo']);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/Cannot find package '(msw|selfsigned)'/);
      expect(r.stderr).not.toMatch(/not installed/);
    });
  });
});

describe('the sources', () => {
  it('only src/cli/simulator.ts names the simulator; nothing in src/ imports mocks/ by path', () => {
    const offenders: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (p.endsWith('.ts')) {
          const text = readFileSync(p, 'utf8');
          const rel = p.slice(ROOT.length + 1);
          if (/from '[./]*mocks\/|import\('[./]*mocks\//.test(text)) offenders.push(`${rel}: imports mocks/ by path`);
          if (rel !== 'src/cli/simulator.ts' && /import\(['"]@pve-passthrough\/simulator['"]\)|from ['"]@pve-passthrough\/simulator['"]/.test(text)) offenders.push(`${rel}: imports the simulator`);
        }
      }
    };
    walk(join(ROOT, 'src'));
    expect(offenders).toEqual([]);
  });
});
