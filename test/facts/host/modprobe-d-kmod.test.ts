/**
 * The modprobe.d model against real kmod: every fixture of
 * test/fixtures/facts/modprobe and modprobe-d is laid out in a throw-away
 * directory tree and read by `modprobe -c -C DIR…` (modprobe(8): -C replaces
 * the default directories; same-name precedence between them still applies,
 * libkmod-config.c conf_files_list). Its blacklist/install/remove/options/
 * softdep lines must equal what the model renders, in the same order.
 *
 * kmod also appends `module.param=` options from the machine's own
 * /proc/cmdline; those lines are read once with an empty directory and taken
 * out. kmod 30 prints a softdep with both pre: and post: without a space
 * ("pre: apost: b"); such lines are compared with that space put back.
 * Skips (saying so) where modprobe is not installed; CI installs kmod.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MODPROBE_DIRS, modprobeFileOrder, parseModprobeConfig, renderModprobeC } from '../../../src/facts/host/modprobe-d.js';
import { cases, parts } from './fixtures.js';

function findModprobe(): string | null {
  for (const p of ['/usr/sbin/modprobe', '/sbin/modprobe', '/usr/bin/modprobe', '/bin/modprobe']) {
    try {
      execFileSync(p, ['--version'], { stdio: 'pipe' });
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}
const MODPROBE = findModprobe();
if (!MODPROBE) console.warn('modprobe-d-kmod.test.ts: kmod (modprobe) is not installed; the real-kmod comparison is skipped. Install the Debian package "kmod".');

const root = mkdtempSync(join(tmpdir(), 'pvpt-kmod-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const CONFIG = /^(blacklist|install|remove|options|softdep) /;

/** `modprobe -c` configuration lines for these directories (kcmdline lines taken out). */
function modprobeC(dirs: readonly string[]): string[] {
  const run = (args: string[]): string[] =>
    execFileSync(MODPROBE as string, ['-c', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')
      .filter((l) => CONFIG.test(l));
  const empty = join(root, 'empty');
  mkdirSync(empty, { recursive: true });
  const fromCmdline = run(['-C', empty]);
  const lines = run(dirs.flatMap((d) => ['-C', d]));
  for (const l of fromCmdline) lines.splice(lines.lastIndexOf(l), 1);
  return lines.map((l) => (l.startsWith('softdep ') ? l.replace(/(\S)post:/, '$1 post:').trimEnd() : l));
}

function layOut(name: string, files: ReadonlyMap<string, string>): string[] {
  const base = join(root, name);
  for (const [path, content] of files) {
    mkdirSync(dirname(join(base, path)), { recursive: true });
    writeFileSync(join(base, path), content);
  }
  return MODPROBE_DIRS.map((d) => join(base, d));
}

const all = [
  ...cases<unknown>('modprobe').map((c) => ({ name: `modprobe/${c.name}`, files: new Map([[`/etc/modprobe.d/${c.name}.conf`, c.input]]) })),
  ...cases<unknown>('modprobe-d').map((c) => ({ name: `modprobe-d/${c.name}`, files: parts(c.input) })),
];

describe.skipIf(!MODPROBE)('modprobe.d model = modprobe -c (real kmod)', () => {
  it.each(all)('$name', ({ name, files }) => {
    const dirs = layOut(name.replace('/', '-'), files);
    for (const d of dirs) mkdirSync(d, { recursive: true });
    const order = modprobeFileOrder(files.keys());
    const model = parseModprobeConfig(order.map((path) => ({ path, content: files.get(path) ?? '' })));
    expect(renderModprobeC(model.value)).toEqual(modprobeC(dirs));
  });
});
