/**
 * A corpus of hostile values (shell metacharacters, line breaks, NUL, $(),
 * backticks, quotes, globs, option-looking values) through every code path
 * that builds a remote command, and through every inventory field that can
 * reach one. Oracles: the real /bin/sh (each value comes back as exactly one
 * argument, byte for byte) and the simulator's independent dialect parser.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseScript } from '../../mocks/hosts/dialect.js';
import { giveBackScript, liveBindScript } from '../../src/engine/host-apply.js';
import { rollback } from '../../src/engine/rollback.js';
import { InputError } from '../../src/errors.js';
import { validateInventory } from '../../src/inventory/load.js';
import {
  assertRemotePath, atomicWrite, backupPathFor, batch, cmd, glob, hashFile, quote, removeFile, render, restoreFromBackup, snapshotFile, UnsafeArgumentError, withSudo, type Script,
} from '../../src/transport/shell.js';
import { startSim } from './harness.js';

const CORPUS = (JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/hostile/shell-corpus.json'), 'utf8')) as { values: string[] }).values;
const BREAKS = /[\0\r\n]/;
const quotable = CORPUS.filter((v) => !BREAKS.test(v));
const unquotable = CORPUS.filter((v) => BREAKS.test(v));

/** Runs a script with the real sh; the script prints its arguments NUL-separated. */
function shArgs(script: string): string[] {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}
const PRINT_ARGS = ['printf', '%s\\000'];

describe('shell corpus: quoting', () => {
  it('has line breaks, NUL and metacharacters in it', () => {
    expect(unquotable.length).toBeGreaterThanOrEqual(4);
    expect(quotable.length).toBeGreaterThanOrEqual(30);
  });

  it('every value comes back from the real sh as exactly one argument, byte for byte', () => {
    expect(shArgs(render(cmd([...PRINT_ARGS, ...quotable])))).toEqual(quotable);
  });

  it('… also through the sudo wrapper (quoted twice)', () => {
    const wrapped = withSudo(render(cmd([...PRINT_ARGS, ...quotable])) as Script, true);
    expect(wrapped.startsWith("sudo -n sh -c '")).toBe(true);
    expect(shArgs(wrapped.replace(/^sudo -n /, ''))).toEqual(quotable);
  });

  it('… and the simulator\'s dialect parser reads the same words', () => {
    const parsed = parseScript(render(cmd(['printf', '%s', ...quotable])));
    expect(parsed.commands).toHaveLength(1);
    expect(parsed.commands[0]!.cmd.words.slice(2).map((w) => w.text)).toEqual(quotable);
    expect(parsed.commands[0]!.cmd.words.some((w) => w.glob)).toBe(false);
  });

  it.each(unquotable.map((v) => [JSON.stringify(v)]))('refuses %s outright (NUL or line break)', (v) => {
    expect(() => quote(JSON.parse(v) as string)).toThrow(UnsafeArgumentError);
  });

  it('redirection targets are quoted the same way', () => {
    const script = render(cmd(['printf', '%s', 'x'], { stdoutTo: "/tmp/a'; reboot; '" }));
    expect(parseScript(script).commands).toHaveLength(1);
  });
});

describe('shell corpus: every command builder', () => {
  // [name, builder, the value is a data word (printf's argument after the format) where a leading dash is harmless]
  const builders: [string, (v: string) => unknown, boolean?][] = [
    ['assertRemotePath', (v) => assertRemotePath(v)],
    ['atomicWrite path', (v) => atomicWrite(v, { mode: '0644', uid: 0, gid: 0 })],
    ['atomicWrite backup path', (v) => atomicWrite('/etc/modprobe.d/x.conf', { mode: '0644', uid: 0, gid: 0, backupTo: v })],
    ['atomicWrite mode', (v) => atomicWrite('/etc/modprobe.d/x.conf', { mode: v, uid: 0, gid: 0 })],
    ['removeFile', (v) => removeFile(v)],
    ['snapshotFile target', (v) => snapshotFile(v, '/var/lib/pve-passthrough/backups/r/etc/modules')],
    ['snapshotFile backup', (v) => snapshotFile('/etc/modules', v)],
    ['restoreFromBackup target', (v) => restoreFromBackup(v, '/var/lib/pve-passthrough/backups/r/etc/modules')],
    ['restoreFromBackup backup', (v) => restoreFromBackup('/etc/modules', v)],
    ['hashFile', (v) => hashFile(v)],
    ['backupPathFor run id', (v) => backupPathFor(v, '/etc/modules')],
    ['backupPathFor path', (v) => backupPathFor('20261201T000000Z-abcdef', v)],
    ['batch section key', (v) => batch([{ key: v, cmd: cmd(['uname', '-r']) }], 'feedfacecafebeef'), true],
    ['live bind address', (v) => liveBindScript(v, 'nouveau')],
    ['live bind driver', (v) => liveBindScript('0000:01:00.0', v)],
    ['give back driver', (v) => giveBackScript('0000:01:00.0', v)],
  ];
  it.each(builders)('%s refuses every hostile value that would reach the script', (_name, build, dataWord) => {
    for (const v of CORPUS) {
      let result: unknown;
      try {
        result = build(v);
      } catch (e) {
        expect(e, JSON.stringify(v)).toBeInstanceOf(UnsafeArgumentError);
        continue;
      }
      const script = String(result);
      expect(parseScript(script).commands.length).toBeGreaterThan(0);
      // A data word (printf's argument) may hold anything, as long as it travels single-quoted.
      if (dataWord) {
        expect(script).toContain(quote(v));
        continue;
      }
      // Accepted but the script is the same as for a plain value (e.g. a driver name only used in messages): harmless.
      if (script === String(build('nouveau'))) continue;
      // Accepted and used: one plain word, never a metacharacter, never option-looking.
      expect(v, `${JSON.stringify(v)} was accepted: ${script.slice(0, 80)}`).toMatch(/^[A-Za-z0-9_.:\/+@=-]+$/);
      expect(v.startsWith('-'), `${JSON.stringify(v)} looks like an option`).toBe(false);
    }
  });

  it('glob refuses anything but the tool\'s own plain patterns', () => {
    for (const v of CORPUS.filter((x) => /[^A-Za-z0-9_./:@%+=,*-]/.test(x))) expect(() => glob(v), JSON.stringify(v)).toThrow(UnsafeArgumentError);
  });
});

/** A valid inventory with one field replaced (a path of keys and indexes). */
const BASE = {
  version: 1,
  clusters: [{
    name: 'lab',
    api: { url: 'https://pve1.example.com:8006', tls: { fingerprint: Array(32).fill('AB').join(':') }, auth: { token: { id: 'auto@pve!pt', secret: { env: 'PVE_TOKEN' } } } },
    policy: { canary: 'pve1' },
    nodes: [{
      name: 'pve1',
      ssh: { host: 'pve1.example.com', user: 'root', hostKey: { fingerprint: `SHA256:${'A'.repeat(43)}` } },
      devices: [{ address: '0000:01:00.0', id: '10de:2484', softdep: ['nouveau'], blacklist: ['nvidiafb'] }],
      kernelParams: ['initcall_blacklist=sysfb_init'],
    }],
    vms: [{ vmid: 101, node: 'pve1', hostpci: [{ host: '0000:01:00', romfile: 'gpu.rom' }, { mapping: 'gpu1' }] }],
    mappings: [{ id: 'gpu1', nodes: { pve1: '0000:01:00.0' } }],
  }],
};
/**
 * Fields that never reach a shell or a program's argv may keep a leading dash or `[…]`; each says why.
 * Everything else must reject both.
 */
const NOT_ARGV: Record<string, string> = {
  'clusters.0.nodes.0.ssh.host': 'goes to the ssh2 socket connect; `[…]` is an IPv6 literal',
  'clusters.0.nodes.0.ssh.proxyJump': 'parsed by the tool and dialled with ssh2; never an ssh(1) command line',
  'clusters.0.vms.0.hostpci.0.romfile': 'a property-string value in a PVE API form field',
};
const FIELDS: (string | number)[][] = [
  ['clusters', 0, 'name'],
  ['clusters', 0, 'policy', 'canary'],
  ['clusters', 0, 'api', 'auth', 'token', 'id'],
  ['clusters', 0, 'api', 'auth', 'token', 'secret', 'env'],
  ['clusters', 0, 'nodes', 0, 'name'],
  ['clusters', 0, 'nodes', 0, 'ssh', 'host'],
  ['clusters', 0, 'nodes', 0, 'ssh', 'user'],
  ['clusters', 0, 'nodes', 0, 'ssh', 'proxyJump'],
  ['clusters', 0, 'nodes', 0, 'devices', 0, 'address'],
  ['clusters', 0, 'nodes', 0, 'devices', 0, 'id'],
  ['clusters', 0, 'nodes', 0, 'devices', 0, 'softdep', 0],
  ['clusters', 0, 'nodes', 0, 'devices', 0, 'blacklist', 0],
  ['clusters', 0, 'nodes', 0, 'kernelParams', 0],
  ['clusters', 0, 'vms', 0, 'node'],
  ['clusters', 0, 'vms', 0, 'machine'],
  ['clusters', 0, 'vms', 0, 'hostpci', 0, 'host'],
  ['clusters', 0, 'vms', 0, 'hostpci', 0, 'romfile'],
  ['clusters', 0, 'vms', 0, 'hostpci', 1, 'mapping'],
  ['clusters', 0, 'mappings', 0, 'id'],
  ['clusters', 0, 'mappings', 0, 'nodes', 'pve1'],
];
function withField(path: (string | number)[], value: string): unknown {
  const copy = structuredClone(BASE) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
  return copy;
}

describe('shell corpus: every inventory field that can reach a host or the API', () => {
  it('the base inventory is valid', () => {
    expect(() => validateInventory(BASE, '/tmp/inv.json')).not.toThrow();
  });
  it.each(FIELDS.map((f) => [f.join('.'), f]))('%s rejects every value with a metacharacter, break, quote or leading dash', (_n, path) => {
    const why = NOT_ARGV[(path as unknown[]).join('.')];
    for (const v of CORPUS) {
      const dangerous = why ? /[^A-Za-z0-9_.:\/+@=,[\]-]/.test(v) : /[^A-Za-z0-9_.:\/+@=,-]/.test(v) || v.startsWith('-');
      if (!dangerous) continue;
      let err: unknown = null;
      try {
        validateInventory(withField(path as (string | number)[], v), '/tmp/inv.json');
      } catch (e) {
        err = e;
      }
      expect(err, `${(path as unknown[]).join('.')} accepted ${JSON.stringify(v)}`).toBeInstanceOf(InputError);
      // One clear message naming the field, without echoing control characters.
      const e = err as InputError;
      expect(e.problems.some((p) => p.startsWith((path as (string | number)[]).map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${k}` : k)).join('')) || p.startsWith('clusters[0]'))).toBe(true);
      expect(e.message).not.toMatch(/[\0\r\u001b]/);
    }
  });
});

describe('shell corpus: a hostile backup manifest on a host', () => {
  it('rollback refuses paths from it before running anything with them', async () => {
    const sim = await startSim({ clusters: [{ name: 'solo', standalone: true, api: false, nodes: [{ name: 'n1', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'n1' } }] }] });
    try {
      const run = '20260101T000000Z-0badc0';
      const evil = { version: 1, runId: run, node: 'n1', createdAt: '2026-01-01T00:00:00Z', files: [{ path: "/etc/modules'; reboot; '", existed: true, backup: '/var/lib/pve-passthrough/backups/x/$(reboot)', sha256Before: null, sha256After: null, mode: '0644; reboot', uid: 0, gid: 0 }] };
      sim.fleet.host('n1').state.drift.writeFile(`/var/lib/pve-passthrough/backups/${run}/manifest.json`, JSON.stringify(evil));
      const before = sim.fleet.host('n1').commandLog.length;
      const r = await rollback(sim.inventory, { ...sim.opts(), node: 'n1', run });
      expect(r.result.outcome).toBe('failed');
      expect(r.result.error?.code).toBe('E_UNSAFE_ARGUMENT');
      const ran = sim.fleet.host('n1').commandLog.slice(before);
      expect(ran.join('\n')).not.toMatch(/reboot/);
      expect(sim.fleet.host('n1').violations).toEqual([]);
      expect(sim.fleet.host('n1').reboots).toBe(0);
    } finally {
      await sim.close();
    }
  });
});
