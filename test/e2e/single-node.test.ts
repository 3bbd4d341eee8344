/**
 * The single-node fix from a laptop, as a user types it: a stored profile,
 * then plan / apply / verify with --host, --api, --device and --vm and no
 * inventory file, against a simulated node over real SSH and HTTPS.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli } from '../safety/cli.js';

const home = mkdtempSync(join(tmpdir(), 'pvpt-laptop-'));

// A home of its own: no ssh_config or known_hosts of the machine's user leaks in.
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { home, env });

let tf: TestFleet;
beforeAll(async () => {
  tf = await testFleet({
    clusters: [{
      name: 'lab', standalone: true,
      nodes: [{ name: 'pve1', profile: 'pve9-intel-grub-lvm', declare: { devices: [] } }],
      vms: [{ vmid: 100, node: 'pve1', status: 'stopped', config: { name: 'desk', memory: '8192', balloon: '0' } }],
    }],
  });
});
afterAll(async () => {
  await tf.close();
});

describe('a single node from a laptop', () => {
  it('profile add, then plan/apply/verify with flags only', async () => {
    const node = tf.inventory.clusters[0]!.nodes[0]!;
    const api = tf.fleet.cluster('lab').server!;
    const inv = JSON.parse(readFileSync(tf.fleet.inventoryPath, 'utf8')) as { clusters: { api: { auth: { ticket: { password: { file: string } } } } }[] };
    const password = readFileSync(inv.clusters[0]!.api.auth.ticket.password.file, 'utf8').trim();
    const added = await cli(['profile', 'add', 'simlab', '--identity', node.ssh.identityFile!, '--host-key', (node.ssh.hostKey as { fingerprint: string }).fingerprint,
      '--api', api.url, '--tls-fingerprint', api.fingerprint, '--username', 'root@pam', '--password-env', 'SIMLAB_PASSWORD']);
    expect(added.code, added.stderr).toBe(0);

    const flags = ['--host', `root@127.0.0.1:${node.ssh.port}`, '--node-name', 'pve1', '--device', '0000:01:00.0', '--vm', '100', '--profile', 'simlab'];
    const env = { SIMLAB_PASSWORD: password };
    const plan = await cli(['plan', '--detailed-exitcode', ...flags], env);
    expect(plan.code, plan.stderr).toBe(2);
    expect(plan.stdout).toMatch(/options vfio-pci ids=10de:228b,10de:2484/);
    // Flags mode only adds: VM 100 keeps its machine (unset = i440fx), so the new entry has no pcie=1 (q35 only).
    expect(plan.stdout).toMatch(/VM 100 on pve1[\s\S]*\+ hostpci0: 0000:01:00\n/);
    expect(plan.stdout).toMatch(/kept: machine pc \(i440fx, the default\): new entries get no pcie=1/);

    const apply = await cli(['apply', '--yes', '--poll-ms', '50', ...flags], env);
    expect(apply.code, `${apply.stdout}\n${apply.stderr}`).toBe(0);
    const verify = await cli(['verify', '--json', ...flags], env);
    expect(verify.code, verify.stdout).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ verdict: 'compliant' });
    for (const r of [plan, apply, verify]) expect(r.stdout + r.stderr).not.toContain(password);
  }, 60_000);

  it('without a pinned or known host key the node is refused, with its fingerprint shown', async () => {
    const node = tf.inventory.clusters[0]!.nodes[0]!;
    const r = await cli(['plan', '--host', `root@127.0.0.1:${node.ssh.port}`, '--node-name', 'pve1', '--device', '0000:01:00.0']);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain((node.ssh.hostKey as { fingerprint: string }).fingerprint);
  });

  it('--identity, a short address (01:00.0), --kernel-param, --iommu-pt and --x-vga reach the plan', async () => {
    const node = tf.inventory.clusters[0]!.nodes[0]!;
    const api = tf.fleet.cluster('lab').server!;
    const inv = JSON.parse(readFileSync(tf.fleet.inventoryPath, 'utf8')) as { clusters: { api: { auth: { ticket: { password: { file: string } } } } }[] };
    const password = readFileSync(inv.clusters[0]!.api.auth.ticket.password.file, 'utf8').trim();
    // A profile without a key: the key comes from --identity alone.
    const added = await cli(['profile', 'add', 'nokey', '--host-key', (node.ssh.hostKey as { fingerprint: string }).fingerprint,
      '--api', api.url, '--tls-fingerprint', api.fingerprint, '--username', 'root@pam', '--password-env', 'SIMLAB_PASSWORD']);
    expect(added.code, added.stderr).toBe(0);
    const base = ['--host', `root@127.0.0.1:${node.ssh.port}`, '--node-name', 'pve1', '--profile', 'nokey', '--device', '01:00.0', '--vm', '100'];
    const withoutKey = await cli(['plan', ...base], { SIMLAB_PASSWORD: password, SSH_AUTH_SOCK: '' });
    expect(withoutKey.code).toBe(1);
    const r = await cli(['plan', ...base, '--identity', node.ssh.identityFile!,
      '--kernel-param', 'video=efifb:off,vesafb:off', '--kernel-param', 'initcall_blacklist=sysfb_init', '--iommu-pt', '--x-vga'], { SIMLAB_PASSWORD: password });
    expect(r.code, r.stderr).toBe(0);
    const text = r.stdout;
    // (The first test applied 0000:01:00.0: the device part is already in place; --device 01:00.0 means that same device.)
    expect(text).not.toMatch(/refused|not found/i);
    expect(text).toMatch(/iommu=pt/);
    // One parameter with commas stays one parameter.
    expect(text).toContain('video=efifb:off,vesafb:off');
    expect(text).toContain('initcall_blacklist=sysfb_init');
    // The entry the first test applied gets x-vga=1, nothing else (flags mode only adds).
    expect(text).toMatch(/~ hostpci0: 0000:01:00 → 0000:01:00,x-vga=1\n/);
  }, 60_000);

  it('with no key named anywhere, the default ~/.ssh/id_* files are tried in ssh_config(5) order, unreadable ones skipped', async () => {
    const node = tf.inventory.clusters[0]!.nodes[0]!;
    const home2 = mkdtempSync(join(tmpdir(), 'pvpt-laptop-keys-'));
    mkdirSync(join(home2, '.ssh'), { mode: 0o700 });
    // id_rsa first in the order: not a key, so skipped (ssh would ask for a passphrase or complain); id_ecdsa* missing; id_ed25519 is the node's key.
    writeFileSync(join(home2, '.ssh', 'id_rsa'), 'not a key\n', { mode: 0o600 });
    copyFileSync(node.ssh.identityFile!, join(home2, '.ssh', 'id_ed25519'));
    const base = ['plan', '--host', `root@127.0.0.1:${node.ssh.port}`, '--node-name', 'pve1', '--profile', 'nokey', '--device', '01:00.0'];
    // The profile "nokey" (previous test) pins the host key and names no key; no agent.
    const r = await cli(base, { HOME: home2, SSH_AUTH_SOCK: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/node pve1/);
    rmSync(join(home2, '.ssh', 'id_ed25519'));
    const none = await cli(base, { HOME: home2, SSH_AUTH_SOCK: '' });
    expect(none.code).toBe(1);
  }, 60_000);

  it('--host root@127.0.0.1 without --node-name is refused, asking for the name (not node "127")', async () => {
    const node = tf.inventory.clusters[0]!.nodes[0]!;
    const r = await cli(['plan', '--host', `root@127.0.0.1:${node.ssh.port}`, '--device', '01:00.0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/IP address and the node.s hostname could not be read[\s\S]*--node-name/);
    expect(r.stdout + r.stderr).not.toMatch(/node 127\b/);
  });
});
