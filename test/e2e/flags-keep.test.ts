/**
 * Flags mode only adds (issue 16 item 8): on a node converged from an
 * inventory (iommu=pt, a kernel parameter, a second bound device, disable_vga,
 * a blacklist; a VM entry with x-vga=1 and rombar=0), `--host … --device X
 * --vm N` without the flags for those plans no removal and says what it keeps;
 * `--exact` makes the flags the whole declaration and plans the removals.
 * Spawned CLI against the simulated node over real SSH and HTTPS.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testFleet, type TestFleet } from '../helpers/fleet.js';
import { runCli } from '../safety/cli.js';

const home = mkdtempSync(join(tmpdir(), 'pvpt-keep-'));

// A home of its own: no ssh_config or known_hosts of the machine's user leaks in.
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { home, env });

let tf: TestFleet;
let flags: string[];
let env: Record<string, string>;

beforeAll(async () => {
  tf = await testFleet({
    clusters: [{
      name: 'lab', standalone: true, policy: { reboot: 'needed' },
      nodes: [{
        name: 'pve1', profile: 'pve9-intel-grub-lvm',
        declare: {
          devices: [{ address: '0000:01:00.0', disableVga: true, blacklist: ['nouveau'] }, { address: '0000:00:14.0', softdep: ['xhci_pci'] }],
          iommuPassthrough: true,
          kernelParams: ['video=efifb:off'],
        },
      }],
      vms: [{
        vmid: 100, node: 'pve1', status: 'stopped',
        config: { name: 'desk', memory: '8192', balloon: '0', machine: 'q35', bios: 'ovmf' },
        declare: { hostpci: [{ host: '0000:01:00', pcie: true, 'x-vga': true, rombar: false }] },
      }],
    }],
  });
  const node = tf.inventory.clusters[0]!.nodes[0]!;
  const api = tf.fleet.cluster('lab').server!;
  const inv = JSON.parse(readFileSync(tf.fleet.inventoryPath, 'utf8')) as { clusters: { api: { auth: { ticket: { password: { file: string } } } } }[] };
  env = { SIMLAB_PASSWORD: readFileSync(inv.clusters[0]!.api.auth.ticket.password.file, 'utf8').trim() };
  const added = await cli(['profile', 'add', 'simlab', '--identity', node.ssh.identityFile!, '--host-key', (node.ssh.hostKey as { fingerprint: string }).fingerprint,
    '--api', api.url, '--tls-fingerprint', api.fingerprint, '--username', 'root@pam', '--password-env', 'SIMLAB_PASSWORD']);
  expect(added.code, added.stderr).toBe(0);
  flags = ['--host', `root@127.0.0.1:${node.ssh.port}`, '--node-name', 'pve1', '--device', '01:00.0', '--vm', '100', '--profile', 'simlab'];
  // Converge the node and the VM from the inventory first. (The USB controller's softdep is named: its
  // default, the driver in use, is xhci_hcd before the boot and vfio-pci after, so a second run would differ.)
  const apply = await cli(['apply', '-i', tf.fleet.inventoryPath, '--yes', '--poll-ms', '50']);
  expect(apply.code, `${apply.stdout}\n${apply.stderr}`).toBe(0);
}, 120_000);
afterAll(async () => {
  await tf.close();
});

describe('flags mode on a node converged from an inventory', () => {
  it('without --exact: nothing removed, exit 0, "No changes", and the plan names what it keeps', async () => {
    const r = await cli(['plan', '--detailed-exitcode', ...flags], env);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('No changes.');
    expect(r.stdout).not.toMatch(/^\s+[-~] /m);
    expect(r.stdout).toMatch(/kept: kernel parameter iommu=pt \(not named; --exact to remove\)/);
    expect(r.stdout).toMatch(/kept: kernel parameter video=efifb:off/);
    expect(r.stdout).toMatch(/kept: device 0000:00:14\.0/);
    expect(r.stdout).toMatch(/kept: disable_vga=1 for 0000:01:00\.0/);
    expect(r.stdout).toMatch(/kept: hostpci0 [^\n]*x-vga=1/);
    expect(r.stdout).toMatch(/kept: hostpci0 [^\n]*rombar=0/);
  }, 60_000);

  it('without --exact, what the flags do name is added and nothing else changes', async () => {
    const r = await cli(['plan', '--detailed-exitcode', ...flags, '--kernel-param', 'initcall_blacklist=sysfb_init'], env);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    // The drop-in's one line grows by the new token at its end; every other file and the VM stay as they are.
    expect(r.stdout).toMatch(/\+ GRUB_CMDLINE_LINUX_DEFAULT="\$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt video=efifb:off initcall_blacklist=sysfb_init"/);
    expect(r.stdout).not.toMatch(/- remove|update \/etc\/modprobe\.d|hostpci0: /);
    expect(r.stdout).toMatch(/VM 100 on pve1[^\n]*\n\s+no changes/);
  }, 60_000);

  it('without --exact, verify checks the kept state and finds it compliant', async () => {
    const r = await cli(['verify', '--json', ...flags], env);
    expect(r.code, r.stdout).toBe(0);
    const report = JSON.parse(r.stdout) as { verdict: string; nodes: { checks: { id: string; status: string }[] }[] };
    expect(report.verdict).toBe('compliant');
    const ids = report.nodes.flatMap((n) => n.checks.filter((c) => c.status === 'pass').map((c) => c.id));
    expect(ids).toContain('cmdline-token:iommu=pt');
    expect(ids).toContain('device-bound:0000:00:14.0');
  }, 60_000);

  it('--exact: the flags are the whole declaration, and the removals are planned', async () => {
    const r = await cli(['plan', '--detailed-exitcode', ...flags, '--exact'], env);
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(r.stdout).not.toMatch(/kept:/);
    // iommu=pt and the kernel parameter go (the GRUB drop-in with them); the USB controller, disable_vga and the blacklist leave the modprobe file.
    expect(r.stdout).toMatch(/- remove \/etc\/default\/grub\.d\/pve-passthrough\.cfg/);
    expect(r.stdout).toMatch(/iommu=pt still in \/proc\/cmdline but no longer configured/);
    expect(r.stdout).toMatch(/- options vfio-pci ids=10de:228b,10de:2484,8086:7ae0 disable_vga=1\n\s+\+ options vfio-pci ids=10de:228b,10de:2484\n/);
    expect(r.stdout).toMatch(/- blacklist nouveau/);
    expect(r.stdout).toMatch(/~ hostpci0: [^\n]*x-vga=1[^\n]*→ 0000:01:00,pcie=1\n/);
  }, 60_000);
});
