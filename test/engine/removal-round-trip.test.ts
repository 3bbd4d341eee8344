/**
 * Removal is part of the declared state, over real sockets: declare a device,
 * kernel parameters and a VM's hostpci entry, apply; take them out of the
 * inventory, apply again. Every file under /etc is back byte for byte (mode
 * and owner too), the VM has no hostpci entry left, and verify is compliant.
 * A hand edit of an owned file made in between is named in the removal plan.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../mocks/hosts/host.js';
import { apply, plan, verify, type Inventory } from '../../src/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});

function snapshot(h: SimHost): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of h.vfs.walkFiles('/etc')) {
    const n = h.vfs.get(p, false);
    if (n?.kind === 'file') out.set(p, `${n.mode.toString(8)} ${n.uid}:${n.gid}\n${n.content}`);
  }
  return out;
}

function withoutDeclarations(inv: Inventory): Inventory {
  return {
    ...inv,
    clusters: inv.clusters.map((c) => ({
      ...c,
      nodes: c.nodes.map((n) => ({ ...n, devices: [], kernelParams: [] })),
      vms: c.vms.map((v) => ({ ...v, hostpci: [], manageAllHostpci: true })),
    })),
  };
}

const scenario = {
  name: 'removal',
  clusters: [{
    name: 'lab', standalone: true, policy: { reboot: 'needed' },
    nodes: [{ name: 'pve2', profile: 'pve9-amd-sdboot-zfs', declare: { devices: [{ address: '0000:01:00.0', allFunctions: true }], kernelParams: ['initcall_blacklist=sysfb_init'] } }],
    vms: [{ vmid: 101, node: 'pve2', status: 'stopped', config: { name: 'win', ostype: 'win11', machine: 'pc-q35-9.2+pve1', bios: 'ovmf' }, declare: { hostpci: [{ host: '0000:01:00', pcie: true }] } }],
  }],
};

describe('removal round trip', () => {
  it('add → apply → remove → apply leaves /etc as it was, byte for byte, and the VM without hostpci', async () => {
    tf = await testFleet(scenario, { rebootDelayMs: 50 });
    const host = tf.fleet.host('pve2').state;
    const vm = () => tf!.fleet.cluster('lab').api!.state.vms.get(101)!.file.current;
    const before = snapshot(host);
    const opts = { pollMs: 50 };

    const added = await apply(tf.inventory, opts);
    expect(added.ok).toBe(true);
    expect(host.vfs.readOr('/etc/modprobe.d/pve-passthrough.conf')).toMatch(/# pve-passthrough-sha256: [0-9a-f]{64}\n$/);
    expect(host.vfs.readOr('/etc/kernel/cmdline')).toContain('initcall_blacklist=sysfb_init');
    expect(vm().get('hostpci0')).toBe('0000:01:00,pcie=1');
    expect(host.driverOf('0000:01:00.0')).toBe('vfio-pci');

    // A hand edit since the tool wrote the file: the removal plan names it.
    const mp = '/etc/modprobe.d/pve-passthrough.conf';
    host.drift.writeFile(mp, host.vfs.read(mp).replace('softdep amdgpu pre: vfio-pci\n', 'softdep amdgpu pre: vfio-pci\noptions amdgpu runpm=0\n'));

    const removed = withoutDeclarations(tf.inventory);
    const p = await plan(removed, opts);
    const np = p.clusters[0]!.nodes[0]!;
    expect(np.steps.filter((s) => s.kind === 'remove-file').map((s) => s.kind === 'remove-file' && s.path).sort()).toEqual([
      '/etc/modprobe.d/pve-passthrough.conf', '/etc/modules-load.d/pve-passthrough.conf',
    ]);
    expect(np.rebootReasons).toContain('device 0000:01:00.0 stays on vfio-pci until the next boot (no longer declared)');
    expect(np.warnings.filter((w) => w.subject.startsWith('file '))).toEqual([
      { subject: `file ${mp}`, message: expect.stringMatching(/^edited by hand since pve-passthrough wrote it; this run removes it/) },
    ]);
    expect(p.clusters[0]!.vms[0]!.delete).toEqual(['hostpci0']);

    const r = await apply(removed, { ...opts, plan: p });
    expect(r.ok).toBe(true);
    const after = snapshot(host);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [path, content] of before) expect(after.get(path), path).toBe(content);
    expect(vm().has('hostpci0')).toBe(false);
    expect(host.driverOf('0000:01:00.0')).toBe('amdgpu');
    expect((await verify(removed, opts)).verdict).toBe('compliant');
    expect(host.violations).toEqual([]);
  });
});
