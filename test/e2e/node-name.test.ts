/**
 * A --host node without --node-name is named by its own `hostname` (issue 16
 * item 8), checked against the cluster's node list when --api is given; an IP
 * --host is refused (asking for --node-name) only when the hostname cannot be
 * read. Spawned CLI against simulated nodes over real SSH and HTTPS.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli } from '../safety/cli.js';

const home = mkdtempSync(join(tmpdir(), 'pvpt-name-'));

// A home of its own: no ssh_config or known_hosts of the machine's user leaks in.
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { home, env });

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
