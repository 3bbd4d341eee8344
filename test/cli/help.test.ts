// Help that teaches: each command only its own options, Examples, Exit codes, Environment; --version; completion scripts.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { HELP, commandPath } from '../../src/cli/help.js';
import { bashScript, fishScript, zshScript } from '../../src/cli/completion.js';

const ROOT = join(import.meta.dirname, '../..');
const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/src/cli/main.js', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });

function leaves(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => (c.commands.length ? leaves(c) : [c]));
}
const has = (shell: string) => spawnSync('sh', ['-c', `command -v ${shell}`]).status === 0;

describe('help', () => {
  const program = buildProgram();

  it.each(leaves(program).map((c) => [commandPath(c), c] as const))('%s has examples, exit codes and environment', (name, cmd) => {
    const h = HELP[name];
    expect(h, `no HELP entry for ${name}`).toBeDefined();
    expect(h!.examples.length).toBeGreaterThan(0);
    expect(h!.exitCodes.length).toBeGreaterThan(0);
    // Every option an example uses belongs to that command (examples cannot rot silently).
    const flags = new Set(cmd.options.flatMap((o) => [o.short, o.long]).concat(['--help']));
    for (const ex of h!.examples) {
      const words = ex.replace(/#.*$/, '').split(/\s+/);
      const at = words.indexOf('pve-passthrough');
      for (const w of words.slice(at + 1)) if (/^--?[a-zA-Z]/.test(w)) expect(flags, `${name}: "${ex}" uses ${w}`).toContain(w);
    }
  });

  it('rollback offers neither --tag, --vm nor --device; plan does', () => {
    const r = cli('rollback', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(/--tag|--vm\b|--device/);
    expect(r.stdout).toMatch(/--run <id>/);
    for (const section of ['Examples:', 'Exit codes:', 'Environment:']) expect(r.stdout).toContain(section);
    const plan = cli('plan', '--help').stdout;
    for (const o of ['--tag <tag>', '--vm <vmid>', '--device <address>']) expect(plan).toContain(o);
  });

  it('verify --help states its exit codes and the variables it reads', () => {
    const out = cli('verify', '--help').stdout;
    expect(out).toMatch(/Exit codes:\n\s+0\s+compliant\n\s+1\s+could not check[^\n]*\n\s+2\s+drift/);
    for (const v of ['NO_COLOR', 'FORCE_COLOR', 'CI', 'SSH_AUTH_SOCK', 'XDG_STATE_HOME']) expect(out).toContain(v);
  });

  it('--version names the package, Node.js and the platform', () => {
    const r = cli('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Node.js ${process.version}`);
    expect(r.stdout).toContain(`${process.platform}-${process.arch}`);
    expect(r.stdout).toMatch(/^pve-passthrough \d+\.\d+\.\d+/);
  });
});

describe('completion', () => {
  const program = buildProgram();
  const dir = mkdtempSync(join(tmpdir(), 'pvpt-compl-'));
  const bash = join(dir, 'c.bash');
  writeFileSync(bash, bashScript(program));
  const complete = (...words: string[]): string[] =>
    execFileSync('bash', ['-c', `source ${bash}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _pve_passthrough; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' }).split('\n').filter(Boolean);

  it('bash: commands, then each command\'s own options, choices and subcommands', () => {
    expect(complete('pve-passthrough', 'ro')).toEqual(['rollback']);
    const rollback = complete('pve-passthrough', 'rollback', '--');
    expect(rollback).toContain('--run');
    expect(rollback).not.toContain('--tag');
    expect(complete('pve-passthrough', 'plan', '--')).toContain('--tag');
    expect(complete('pve-passthrough', 'apply', '-i', 'inv.json', '--reboot', '')).toEqual(['never', 'needed', 'always']);
    expect(complete('pve-passthrough', 'profile', '')).toEqual(['add', 'list', 'remove']);
    expect(complete('pve-passthrough', 'profile', 'add', 'lab', '--tok')).toEqual(['--token-id', '--token-secret-env']);
  });

  it('the CLI prints the scripts and refuses an unknown shell', () => {
    expect(cli('completion', 'bash').stdout).toBe(bashScript(program));
    const r = cli('completion', 'tcsh');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/no completion for shell "tcsh".*bash, zsh, fish/);
  });

  it.skipIf(!has('zsh'))('zsh: the script parses and completes rollback options (skipped when zsh is not installed)', () => {
    const zsh = join(dir, '_pve-passthrough');
    writeFileSync(zsh, zshScript(program));
    expect(spawnSync('zsh', ['-n', zsh]).status).toBe(0);
    const out = execFileSync('zsh', ['-c', `source ${zsh}; setopt ksharrays; COMP_WORDS=(pve-passthrough rollback --); COMP_CWORD=2; _pve_passthrough; print -l -- "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    expect(out).toContain('--run');
    expect(out).not.toContain('--tag');
  });

  it.skipIf(!has('fish'))('fish: the script loads and completes rollback options (skipped when fish is not installed)', () => {
    const fish = join(dir, 'pve-passthrough.fish');
    writeFileSync(fish, fishScript(program));
    const out = execFileSync('fish', ['-c', `source ${fish}; complete -C 'pve-passthrough rollback --'`], { encoding: 'utf8' });
    expect(out).toMatch(/^--run\t/m);
    expect(out).not.toMatch(/^--tag/m);
    expect(execFileSync('fish', ['-c', `source ${fish}; complete -C 'pve-passthrough profile '`], { encoding: 'utf8' })).toMatch(/^add\b[\s\S]*^remove\b/m);
  });
});
