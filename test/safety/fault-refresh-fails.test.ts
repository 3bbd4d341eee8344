/**
 * update-grub, proxmox-boot-tool refresh or update-initramfs fails: every
 * file the run changed on that node is restored from its backup, nothing
 * reboots, and the error carries the command's stderr.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, rollback } from '../../src/index.js';
import { expectConverges, reboots, snapshot, startSim, VFIO_NODE, type Sim } from './harness.js';

const CASES = [
  { node: 'grub1', profile: 'pve9-intel-grub-lvm', command: 'update-grub', stderr: '/usr/sbin/grub-probe: error: failed to get canonical path of `/dev/mapper/pve-root\'.' },
  { node: 'sdboot1', profile: 'pve9-amd-sdboot-zfs', command: 'proxmox-boot-tool refresh', stderr: 'E: /boot/efi is not mounted: mount: /var/tmp/espmounts/3C1A-2B4F: can\'t read superblock' },
  { node: 'initrd1', profile: 'pve9-intel-grub-lvm', command: 'update-initramfs', stderr: 'E: mkinitramfs failure cpio 141 (No space left on device)' },
] as const;

describe('fault: a boot refresh command fails', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: CASES.map((c) => ({
        name: `c-${c.node}`,
        standalone: true,
        // iommu=pt makes the kernel command line change, so the boot loader refresh is needed too.
        nodes: [VFIO_NODE(c.node, c.profile, { faults: { failCommand: { [c.command]: c.stderr } }, declare: { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true } })],
      })),
    });
  });
  afterAll(() => sim?.close());

  it('restores every file from its backup, does not reboot, and shows the stderr', async () => {
    const before = snapshot(sim.fleet);
    const report = await apply(sim.inventory, sim.opts());
    expect(report.ok).toBe(false);
    const after = snapshot(sim.fleet);
    for (const c of CASES) {
      const n = report.nodes.find((x) => x.node === c.node)!;
      expect(n.outcome, c.node).toBe('failed');
      expect(n.rebooted).toBe(false);
      expect(n.error?.code).toBe('E_REMOTE_COMMAND');
      expect(n.message).toContain(`${c.command === 'update-initramfs' ? 'update-initramfs -u -k all' : c.command} failed (exit 1)`);
      expect(n.message).toContain(c.stderr);
      expect(n.message).toContain('every file changed on this node was restored from its backup and no reboot was done');
      // Byte for byte, with mode and owner, every config file is what it was.
      const was = before.get(c.node)!;
      const now = after.get(c.node)!;
      expect([...now.keys()].filter((p) => !p.endsWith('.pvpt-tmp')).sort()).toEqual([...was.keys()].sort());
      for (const [path, f] of was) expect(now.get(path), `${c.node}:${path}`).toEqual(f);
      // The backups the restore came from are on the host, with the manifest.
      const state = sim.fleet.host(c.node).state;
      expect(state.vfs.walkFiles(`/var/lib/pve-passthrough/backups/${report.runId}`)).toContain(`/var/lib/pve-passthrough/backups/${report.runId}/manifest.json`);
    }
    expect(reboots(sim.fleet)).toEqual({ grub1: 0, sdboot1: 0, initrd1: 0 });

    for (const c of CASES) sim.fleet.host(c.node).state.setFaults({ failCommand: {} });
    await expectConverges(sim);
  });
});

describe('fault: a boot refresh runs past policy.refreshTimeoutSeconds', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({
      clusters: [{
        name: 'c-slow',
        standalone: true,
        policy: { refreshTimeoutSeconds: 1 },
        // The simulated sshd never runs a command whose channel the tool closed first (sshd killpg's it).
        nodes: [VFIO_NODE('slow1', 'pve9-intel-grub-lvm', { faults: { slowCommand: { 'update-initramfs': { ms: 2_500 } } } })],
      }],
    });
  });
  afterAll(() => sim?.close());

  it('stops it, restores every file, does not reboot, and names the setting to raise', async () => {
    const before = snapshot(sim.fleet);
    const report = await apply(sim.inventory, sim.opts());
    const n = report.nodes.find((x) => x.node === 'slow1')!;
    expect(n.outcome).toBe('failed');
    expect(n.rebooted).toBe(false);
    expect(n.message).toContain('update-initramfs -u -k all did not finish within 1 s (policy.refreshTimeoutSeconds) and was stopped');
    expect(n.message).toContain('every file changed on this node was restored from its backup and no reboot was done');
    expect(n.error?.fix).toMatch(/raise policy\.refreshTimeoutSeconds above 1/);
    const was = before.get('slow1')!;
    const now = snapshot(sim.fleet).get('slow1')!;
    for (const [path, f] of was) expect(now.get(path), path).toEqual(f);
    expect(reboots(sim.fleet)).toEqual({ slow1: 0 });
    // The fault was one slow run: the next apply (within the limit) converges.
    await expectConverges(sim);
  });
});

describe('fault: a boot refresh fails during rollback', () => {
  let sim: Sim;
  beforeAll(async () => {
    sim = await startSim({ clusters: [{ name: 'c-rb', standalone: true, nodes: [VFIO_NODE('rb1', 'pve9-intel-grub-lvm')] }] });
  });
  afterAll(() => sim?.close());

  it('runs the refreshes in one exec, as apply does; a failure puts the applied files back and does not reboot', async () => {
    const applied = await apply(sim.inventory, sim.opts());
    expect(applied.ok).toBe(true);
    const mid = snapshot(sim.fleet).get('rb1')!;
    const host = sim.fleet.host('rb1').state;
    host.setFaults({ failCommand: { 'update-grub': { stderr: 'grub-probe: error: disk not found', times: 1 } } });
    const logFrom = host.commandLog.length;
    const failed = (await rollback(sim.inventory, { ...sim.opts(), node: 'rb1', run: applied.runId })).result;
    expect(failed.outcome).toBe('failed');
    expect(failed.rebooted).toBe(false);
    expect(failed.message).toMatch(/update-grub failed \(exit 1\): .*disk not found; every file changed on this node was restored/);
    expect(failed.error?.fix).toMatch(/re-run rollback/);
    // One script ran update-initramfs and update-grub together (a stop between them would leave them apart).
    const scripts = host.commandLog.slice(logFrom).filter((c) => c.includes('update-initramfs'));
    expect(scripts.length).toBeGreaterThan(0);
    for (const c of scripts) expect(c).toContain('update-grub');
    const now = snapshot(sim.fleet).get('rb1')!;
    for (const [path, f] of mid) expect(now.get(path), path).toEqual(f);
    expect(reboots(sim.fleet)).toEqual({ rb1: 1 });
    // The fault was once: the same rollback now goes through.
    const r = await rollback(sim.inventory, { ...sim.opts(), node: 'rb1', run: applied.runId });
    expect(r.result.outcome, r.result.message).toBe('applied');
  });
});
