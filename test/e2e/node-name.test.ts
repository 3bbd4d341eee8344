/**
 * A --host node without --node-name is named by its own `hostname` (issue 16
 * item 8), checked against the cluster's node list when --api is given; an IP
 * --host is refused (asking for --node-name) only when the hostname cannot be
 * read. Spawned CLI against simulated nodes over real SSH and HTTPS.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

const MAIN = join(import.meta.dirname, '../../dist/src/cli/main.js');
const home = mkdtempSync(join(tmpdir(), 'pvpt-name-'));

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, HOME: home, NO_COLOR: '1', XDG_STATE_HOME: join(home, 'state'), PVE_PASSTHROUGH_CONFIG_DIR: join(home, 'config'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let tf: TestFleet;
let env: Record<string, string>;
const port = (i: number) => tf.inventory.clusters[0]!.nodes[i]!.ssh.port!;

beforeAll(async () => {
  tf = await testFleet({
    clusters: [{
      name: 'lab',
      nodes: [
        { name: 'pve1', profile: 'pve9-intel-grub-lvm' },
        // Its hostname is not the name the cluster knows it by.
        { name: 'pve2', profile: 'pve9-intel-grub-lvm', overrides: { hostname: 'stranger.lab.example' } },
      ],
    }],
  });
  const api = tf.fleet.cluster('lab').server!;
  const inv = JSON.parse(readFileSync(tf.fleet.inventoryPath, 'utf8')) as { clusters: { api: { auth: { ticket: { password: { file: string } } } } }[] };
  env = { SIMLAB_PASSWORD: readFileSync(inv.clusters[0]!.api.auth.ticket.password.file, 'utf8').trim() };
  for (const [i, name] of [[0, 'n1'], [1, 'n2']] as const) {
    const node = tf.inventory.clusters[0]!.nodes[i]!;
    const base = ['profile', 'add', name, '--identity', node.ssh.identityFile!, '--host-key', (node.ssh.hostKey as { fingerprint: string }).fingerprint];
    expect((await cli([...base, '--api', api.url, '--tls-fingerprint', api.fingerprint, '--username', 'root@pam', '--password-env', 'SIMLAB_PASSWORD'])).code).toBe(0);
    expect((await cli(['profile', 'add', `${name}-noapi`, ...base.slice(3)])).code).toBe(0);
  }
}, 60_000);
afterAll(async () => {
  await tf.close();
});

describe('the node name of --host without --node-name', () => {
  it('is the host\'s hostname, also for an IP address, and the cluster\'s node list agrees', async () => {
    const r = await cli(['plan', '--host', `root@127.0.0.1:${port(0)}`, '--profile', 'n1', '--device', '01:00.0'], env);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/node pve1 /);
    expect(r.stdout + r.stderr).not.toMatch(/node 127\b|unnamed/);
  }, 60_000);

  it('a hostname the cluster does not list is refused, with the list and the fix', async () => {
    const r = await cli(['plan', '--host', `root@127.0.0.1:${port(1)}`, '--profile', 'n2', '--device', '01:00.0'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/its hostname is stranger, which is not a node of the cluster[^\n]*\(its nodes: pve1, pve2\)[\s\S]*--node-name/);
    // --node-name says which node it is: no refusal.
    const named = await cli(['plan', '--host', `root@127.0.0.1:${port(1)}`, '--profile', 'n2', '--device', '01:00.0', '--node-name', 'pve2'], env);
    expect(named.code, named.stderr).toBe(0);
    expect(named.stdout).toMatch(/node pve2 /);
  }, 60_000);

  it('without an API the hostname\'s first label is the name', async () => {
    const r = await cli(['plan', '--host', `root@127.0.0.1:${port(1)}`, '--profile', 'n2-noapi', '--device', '01:00.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/node stranger /);
  }, 60_000);
});
