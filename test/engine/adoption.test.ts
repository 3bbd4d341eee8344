/**
 * Hosts configured by hand (the normal case), over the simulated fleet with
 * real SSH: a host set up the PVE-docs way plans nothing and verifies
 * compliant; a partly configured one gets only the missing pieces, with the
 * operator's `ids=` line taken over (never a second one: asked of real kmod,
 * `modprobe -c` over the host's modprobe.d), and rollback or removing the
 * declaration puts the operator's file back byte for byte.
 * Profiles: mocks/hosts/profiles.ts pve9-hand-vfio, pve9-hand-partial.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SimHost } from '../../mocks/hosts/host.js';
import { apply, devices, plan, rollback, verify, type Inventory } from '../../src/index.js';
import { testFleet, type TestFleet } from '../helpers/fleet.js';
import { kmodMissing, kmodTree } from '../helpers/kmod.js';

let tf: TestFleet | null = null;
afterEach(async () => {
  await tf?.close();
  tf = null;
});
const fast = { pollMs: 20 };
const GPU = { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true };

function solo(profile: string, declare: Record<string, unknown>) {
  return { clusters: [{ name: 'c', standalone: true, api: false, policy: { reboot: 'needed' }, nodes: [{ name: 'n1', profile, declare }] }] };
}

/** Every `options vfio_pci …` line real kmod reads from the host's modprobe.d files. */
function kmodVfioOptions(h: SimHost): string[] {
  const conf: Record<string, string> = {};
  for (const name of h.vfs.list('/etc/modprobe.d')) if (name.endsWith('.conf')) conf[name] = h.vfs.readOr(`/etc/modprobe.d/${name}`) ?? '';
  const tree = kmodTree({ modules: ['vfio-pci', 'nouveau', 'snd-hda-intel'], conf });
  try {
    return [...(tree.config().options.get('vfio_pci') ?? [])];
  } finally {
    tree.close();
  }
}

const withoutDevices = (inv: Inventory): Inventory => ({ ...inv, clusters: inv.clusters.map((c) => ({ ...c, nodes: c.nodes.map((n) => ({ ...n, devices: [] })) })) });

describe('a host configured by hand per the PVE docs', () => {
  it('plans nothing and verifies compliant', async () => {
    tf = await testFleet(solo('pve9-hand-vfio', GPU));
    const h = tf.fleet.host('n1').state;
    expect(h.driverOf('0000:01:00.0')).toBe('vfio-pci');
    const p = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(p.refused).toEqual([]);
    expect(p.steps).toEqual([]);
    const v = await verify(tf.inventory, fast);
    expect(v.verdict, JSON.stringify(v, null, 1)).toBe('compliant');
    const d = (await devices(tf.inventory, fast))[0]!.devices;
    expect(d.find((x) => x.address === '0000:01:00.1')?.vfioAtBoot).toBe('/etc/modprobe.d/vfio.conf:1');
    expect(d.find((x) => x.address === '0000:03:00.0')?.vfioAtBoot).toBeNull();
  });
});

describe('a host configured by hand halfway', () => {
  it('gets only the missing pieces; the ids= line is taken over, never doubled; rollback puts it back byte for byte', async () => {
    tf = await testFleet(solo('pve9-hand-partial', GPU), { rebootDelayMs: 50 });
    const h = tf.fleet.host('n1').state;
    const original = h.vfs.readOr('/etc/modprobe.d/vfio.conf');
    expect(h.driverOf('0000:01:00.0')).toBe('nouveau');

    const p = await plan(tf.inventory, fast);
    const node = p.clusters[0]!.nodes[0]!;
    expect(node.refused).toEqual([]);
    // No modules-load file (/etc/modules has them), no GRUB drop-in (iommu=pt is in /etc/default/grub);
    // the IOMMU is on and the GPU is free, so it moves to vfio-pci live.
    expect(node.steps.map((s) => ('path' in s ? s.path : s.kind === 'refresh' ? s.command : s.kind))).toEqual([
      '/etc/modprobe.d/pve-passthrough.conf', '/etc/modprobe.d/vfio.conf', 'update-initramfs', 'live-bind', 'live-bind',
    ]);
    const owned = node.steps.find((s) => s.kind === 'write-file' && s.path === '/etc/modprobe.d/pve-passthrough.conf');
    expect(owned && 'after' in owned ? owned.after : '').toMatch(/^options vfio-pci ids=10de:2484,10de:228b disable_vga=1\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n/m);
    const neutralised = node.steps.find((s) => s.kind === 'write-file' && s.path === '/etc/modprobe.d/vfio.conf');
    expect(neutralised && 'after' in neutralised ? neutralised.after : '').toBe(
      `# added by hand, see the wiki\n# pve-passthrough ${p.runId} took over: options vfio-pci ids=10de:2484 disable_vga=1\n`);

    const report = await apply(tf.inventory, fast);
    expect(report.ok, JSON.stringify(report.nodes, null, 1)).toBe(true);
    expect(h.driverOf('0000:01:00.0')).toBe('vfio-pci');
    expect(h.driverOf('0000:01:00.1')).toBe('vfio-pci');
    expect((await verify(tf.inventory, fast)).verdict).toBe('compliant');
    expect((await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!.steps).toEqual([]);
    if (kmodMissing) console.warn(`adoption.test.ts: the real-kmod check of the effective ids= is skipped: ${kmodMissing}`);
    else {
      const opts = kmodVfioOptions(h);
      expect(opts.filter((o) => /\bids=/.test(o))).toEqual(['ids=10de:2484,10de:228b disable_vga=1']);
    }

    const rb = await rollback(tf.inventory, { ...fast, node: 'n1' });
    expect(rb.result.outcome, rb.result.message).not.toBe('failed');
    expect(rb.files.map((f) => [f.path, f.action])).toEqual(expect.arrayContaining([['/etc/modprobe.d/vfio.conf', 'restored'], ['/etc/modprobe.d/pve-passthrough.conf', 'removed']]));
    expect(h.vfs.readOr('/etc/modprobe.d/vfio.conf')).toBe(original);
    expect(h.vfs.exists('/etc/modprobe.d/pve-passthrough.conf')).toBe(false);
  });

  it('removing the declaration gives the operator their line back, byte for byte', async () => {
    tf = await testFleet(solo('pve9-hand-partial', GPU), { rebootDelayMs: 50 });
    const h = tf.fleet.host('n1').state;
    const original = h.vfs.readOr('/etc/modprobe.d/vfio.conf');
    expect((await apply(tf.inventory, fast)).ok).toBe(true);
    expect(h.vfs.readOr('/etc/modprobe.d/vfio.conf')).not.toBe(original);
    const removal = await apply(withoutDevices(tf.inventory), fast);
    expect(removal.ok, JSON.stringify(removal.nodes, null, 1)).toBe(true);
    expect(h.vfs.readOr('/etc/modprobe.d/vfio.conf')).toBe(original);
    expect(h.vfs.exists('/etc/modprobe.d/pve-passthrough.conf')).toBe(false);
  });
});

describe('an operator file kmod, systemd or sh would reject, or the tool cannot fully evaluate, blocks the node: file, line and reason; nothing written', () => {
  it.each([
    ['/etc/modprobe.d/typo.conf', 'blacklist nouveau\nsoftdep nouveau\n', /\/etc\/modprobe\.d\/typo\.conf:2: kmod ignores this line \(softdep without a module and its dependencies\)/],
    ['/etc/modprobe.d/dos.conf', 'options vfio-pci ids=10de:2484\r\n', /\/etc\/modprobe\.d\/dos\.conf:1: carriage return in the line/],
    ['/etc/modules', 'vfio\nvfio_pci ids=10de:2484\n', /\/etc\/modules \(read as \/etc\/modules-load\.d\/modules\.conf\):2: systemd-modules-load reads the whole line as one module name/],
    ['/etc/default/grub.d/iommu.cfg', 'GRUB_CMDLINE_LINUX_DEFAULT+=" intel_iommu=on"\n', /\/etc\/default\/grub\.d\/iommu\.cfg:1: .*not an assignment in sh/],
    // grub-mkconfig sources these as sh: a command, redirection or unknown substitution is never guessed around.
    ['/etc/default/grub', 'GRUB_DEFAULT=0\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"; rm -rf /boot\n', /\/etc\/default\/grub:2: runs the command "rm"/],
    ['/etc/default/grub.d/log.cfg', 'GRUB_TIMEOUT=5 > /etc/default/grub.d/zz.cfg\n', /\/etc\/default\/grub\.d\/log\.cfg:1: ">" \(a redirection\)/],
    ['/etc/default/grub.d/distro.cfg', 'GRUB_DISTRIBUTOR=$(rm -rf /boot; echo Debian)\n', /\/etc\/default\/grub\.d\/distro\.cfg:1: GRUB_DISTRIBUTOR=.* runs a command substitution/],
  ])('%s', async (path, content, reason) => {
    tf = await testFleet({ clusters: [{ name: 'c', standalone: true, api: false, nodes: [{ name: 'n1', profile: 'pve9-hand-partial', overrides: { files: { [path]: content } }, declare: GPU }] }] });
    const h = tf.fleet.host('n1').state;
    const etc = () => [...h.vfs.walkFiles('/etc')].map((f) => `${f}\n${h.vfs.readOr(f)}`).join('\n');
    const before = etc();
    const n = (await plan(tf.inventory, fast)).clusters[0]!.nodes[0]!;
    expect(n.steps).toEqual([]);
    expect(n.refused.map((r) => r.reason).join('\n')).toMatch(reason);
    expect((await apply(tf.inventory, fast)).ok).toBe(false);
    expect(etc()).toBe(before);
  });
});
