/**
 * The CLI as a user runs it (compiled, in a child process) against the
 * simulated fleet over real SSH and HTTPS: the sim's default contract
 * (plan --detailed-exitcode 2 → apply --yes 0 → plan 0 → verify 0), output streams, formats,
 * drift, and the `sim` command itself.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyDrift, BUILTIN_SCENARIOS } from '../../mocks/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const state = mkdtempSync(join(tmpdir(), 'pvpt-state-'));

interface Run { code: number | null; stdout: string; stderr: string }

function cli(args: string[], o: { input?: string; env?: Record<string, string> } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: state, PVE_PASSTHROUGH_CONFIG_DIR: state, ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(o.input ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tf: TestFleet;
let inv: string;
beforeAll(async () => {
  tf = await testFleet(BUILTIN_SCENARIOS.converge, { rebootDelayMs: 80 });
  inv = tf.fleet.inventoryPath;
});
afterAll(async () => {
  await tf.close();
});

describe('the default simulated fleet converges through the CLI', () => {
  it('plan exits 0 with changes pending (set -e scripts go on) and shows a diff on stdout, progress on stderr only', async () => {
    const r = await cli(['plan', '-i', inv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\+ create \/etc\/modprobe\.d\/pve-passthrough\.conf/);
    expect(r.stdout).toMatch(/^Plan: 4 node\(s\) to change/m);
    expect(r.stdout).not.toMatch(/reading facts/);
  });

  it('plan --detailed-exitcode exits 2 while changes are pending (Terraform\'s -detailed-exitcode)', async () => {
    const r = await cli(['plan', '-i', inv, '--detailed-exitcode']);
    expect(r.code, r.stderr).toBe(2);
  });

  it('plan --json and --format json write the same single JSON document, and --out a 0600 file', async () => {
    const out = join(state, 'plan.json');
    writeFileSync(out, 'an older plan, readable by all\n', { mode: 0o644 });
    const r = await cli(['plan', '-i', inv, '--json', '--out', out]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { version: number; runId: string; createdAt: string; clusters: unknown[] };
    expect(plan.version).toBe(1);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(plan);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const f = await cli(['plan', '-i', inv, '--format', 'json']);
    expect(f.code, f.stderr).toBe(0);
    const other = JSON.parse(f.stdout) as typeof plan;
    expect({ ...other, runId: '', createdAt: '' }).toEqual({ ...plan, runId: '', createdAt: '' });
  });

  it('apply refuses to run unattended without --yes, changing nothing', async () => {
    const r = await cli(['apply', '-i', inv]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no terminal to ask on .*--yes/);
    expect(tf.fleet.host('pve1').reboots).toBe(0);
  });

  it('apply --yes exits 0 with everything applied and verified', async () => {
    const r = await cli(['apply', '-i', inv, '--yes', '--poll-ms', '50']);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/Apply complete .*everything applied and verified/);
    expect(r.stdout).toMatch(/VM lab\/102 on pve2: shutdown → config → start/);
  }, 60_000);

  it('plan then exits 0', async () => {
    const r = await cli(['plan', '-i', inv]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/No changes/);
  });

  it('verify exits 0 in every format', async () => {
    const table = await cli(['verify', '-i', inv]);
    expect(table.code, table.stdout).toBe(0);
    expect(table.stdout).toMatch(/Compliant: every check passed/);
    const json = await cli(['verify', '-i', inv, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ verdict: 'compliant' });
    const promFile = join(state, 'pp.prom');
    writeFileSync(promFile, 'old\n', { mode: 0o644 });
    const prom = await cli(['verify', '-i', inv, '--format', 'prometheus', '-o', promFile]);
    expect(prom.code).toBe(0);
    expect(prom.stdout).toBe('');
    expect(readFileSync(promFile, 'utf8')).toMatch(/^pve_passthrough_compliant 1$/m);
    // Written whole and renamed, with the mode asked for (0600 unless --output-mode), not the old file's.
    expect(statSync(promFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(state).filter((n) => n.includes('.tmp'))).toEqual([]);
    const shared = await cli(['verify', '-i', inv, '--format', 'prometheus', '-o', promFile, '--output-mode', '0644']);
    expect(shared.code).toBe(0);
    expect(statSync(promFile).mode & 0o777).toBe(0o644);
    const junit = await cli(['verify', '-i', inv, '--format', 'junit']);
    expect(junit.stdout).toMatch(/<testsuites [^>]*failures="0"/);
  }, 90_000);

  it('a drifted node makes verify exit 2 and name the check', async () => {
    applyDrift(tf.fleet, { node: 'pve3', action: 'rebind', address: '0000:01:00.0', driver: 'nouveau' });
    const r = await cli(['verify', '-i', inv, '--node', 'pve3']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/device-bound:0000:01:00\.0\s+FAIL\s+.*nouveau/);
    expect(r.stdout).toMatch(/Drift: /);
  });

  it('devices lists each node\'s hardware with the host-needs flags', async () => {
    const r = await cli(['devices', '-i', inv, '--node', 'pve1', '--device', '0000:01:00.0']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/0000:03:00\.0 .*\n.*HOST NEEDS IT: management-network/);
    expect(r.stdout).toMatch(/"devices": \[\{"address":"0000:01:00\.0","id":"10de:2484"\}\]/);
  });

  it('runs are logged locally and listed', async () => {
    const r = await cli(['runs', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ apply /);
  });
});

describe('input errors and help', () => {
  it('a bad inventory is one clear error naming the field, exit 1, nothing contacted', async () => {
    const bad = join(state, 'bad.json');
    writeFileSync(bad, JSON.stringify({ version: 1, clusters: [{ name: 'c', nodes: [{ name: 'n', ssh: { host: 'h' }, devices: [{ address: '1:0.0' }] }] }] }));
    const r = await cli(['plan', '-i', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/clusters\[0\]\.nodes\[0\]\.devices\[0\]\.address: expected a full PCI address/);
  });
  it('--help exits 0 and lists the commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['plan', 'apply', 'verify', 'devices', 'rollback', 'profile', 'sim', 'demo']) expect(r.stdout).toContain(c);
  });
});

describe('sim', () => {
  it('prints ready only after writing a self-sufficient inventory, and stops on SIGINT', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'pvpt-sim-')), 'inv.json');
    const child = spawn(process.execPath, [MAIN, 'sim', '--inventory-out', out], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/^ready: /m.test(stderr)) resolve();
      });
      child.on('exit', () => reject(new Error(`sim exited early: ${stderr}`)));
    });
    const inventory = JSON.parse(readFileSync(out, 'utf8')) as { clusters: { name: string }[] };
    expect(inventory.clusters.map((c) => c.name)).toEqual(['lab', 'edge']);
    const r = await cli(['plan', '-i', out, '--detailed-exitcode']);
    expect(r.code, r.stderr).toBe(2);
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
