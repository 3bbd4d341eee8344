/**
 * A host configured by hand is adopted on a real kernel, never duplicated.
 *
 * 1. The test configures the guest the PVE-docs way, by hand through SSH: the vfio modules in
 *    /etc/modules, `options vfio-pci ids=8086:10d3` + `softdep e1000e pre: vfio-pci` in
 *    /etc/modprobe.d/vfio.conf, the IOMMU tokens in /etc/default/grub, update-initramfs,
 *    update-grub, reboot. The declaration (the e1000e) is then already met: `plan` has nothing to
 *    do and `verify` exits 0.
 * 2. The declaration grows by a second, different NIC (the `spare` e1000 8086:100e), so the
 *    operator's `ids=` line lacks an id: `apply` takes the line over (merged into the tool's file,
 *    theirs commented out) and the guest's own `modprobe -c` shows exactly one
 *    `options vfio_pci ids=` with both ids; after a reboot both NICs are on vfio-pci and verify
 *    exits 0. `rollback` puts /etc/modprobe.d/vfio.conf back byte for byte (sha256).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E1000E_ADDRESS, NODE } from './inventory.js';
import { guestSession, MIN } from './session.js';

const SPARE_ADDRESS = '0000:00:06.0';
const VFIO_CONF = '/etc/modprobe.d/vfio.conf';
const OWNED = '/etc/modprobe.d/pve-passthrough.conf';

interface PlanJson {
  clusters: { nodes: { refused: unknown[]; steps: { kind: string; path?: string }[] }[] }[];
}

const g = guestSession('adoption');
const sha = async (path: string): Promise<string> => (await g.guest(`if test -e ${path}; then sha256sum ${path} | cut -d' ' -f1; else echo absent; fi`)).trim();
/** Every `options vfio_pci` line of the guest's effective modprobe configuration (its own kmod). */
const vfioOptions = async (): Promise<string[]> => (await g.guest('modprobe -c | grep "^options vfio_pci " || true')).split('\n').filter(Boolean);
const plan = async (phase: string): Promise<{ code: number | null; node: PlanJson['clusters'][number]['nodes'][number] | undefined }> => {
  const r = await g.cli(phase, ['plan', '--json', '--detailed-exitcode'], 5 * MIN);
  return { code: r.code, node: (JSON.parse(r.stdout) as PlanJson).clusters[0]?.nodes[0] };
};
let original = '';

describe('a host configured by hand on a real kernel: adopted, never duplicated', () => {
  beforeAll(async () => {
    await g.boot({ firmware: 'bios', buildScripts: ['build-image.sh'], extras: ['spare'], devices: [{ address: E1000E_ADDRESS }] });
    const t = Date.now();
    // Debian 12's kernel is 6.1 (< 6.2): the PVE docs list vfio_virqfd too.
    await g.guest([
      "printf 'vfio\\nvfio_iommu_type1\\nvfio_pci\\nvfio_virqfd\\n' >> /etc/modules",
      "printf 'options vfio-pci ids=8086:10d3\\nsoftdep e1000e pre: vfio-pci\\n' > /etc/modprobe.d/vfio.conf",
      'sed -i \'s/^GRUB_CMDLINE_LINUX_DEFAULT="quiet"$/GRUB_CMDLINE_LINUX_DEFAULT="quiet intel_iommu=on iommu=pt"/\' /etc/default/grub',
      'grep -q "^GRUB_CMDLINE_LINUX_DEFAULT=\\"quiet intel_iommu=on iommu=pt\\"$" /etc/default/grub',
      'update-initramfs -u -k all 2>&1 && update-grub 2>&1',
    ].join(' && '), 40 * MIN);
    g.record('configure by hand (modules, vfio.conf, grub; update-initramfs, update-grub)', Date.now() - t);
    await g.reboot('reboot by hand');
    original = await sha(VFIO_CONF);
  }, 120 * MIN);

  afterAll(() => g.finish());

  it('configured the PVE-docs way: the e1000e is on vfio-pci, plan has nothing to do, verify exits 0', async () => {
    expect(await g.driverOf(E1000E_ADDRESS)).toBe('vfio-pci');
    expect(await g.driverOf(SPARE_ADDRESS)).toBe('e1000');
    const p = await plan('plan (hand-configured)');
    expect(p.code).toBe(0);
    expect(p.node?.refused).toEqual([]);
    expect(p.node?.steps).toEqual([]);
    const verify = await g.cli('verify (hand-configured)', ['verify'], 5 * MIN);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 15 * MIN);

  it('a declaration the hand-made ids= line lacks: apply takes the line over, one ids= in the effective config', async () => {
    g.declare([{ address: E1000E_ADDRESS }, { address: SPARE_ADDRESS }]);
    const p = await plan('plan (a second NIC declared)');
    expect(p.code).toBe(2);
    expect(p.node?.refused).toEqual([]);
    expect(p.node?.steps.filter((s) => s.kind === 'write-file').map((s) => s.path).sort()).toEqual([OWNED, VFIO_CONF]);
    const before = await g.bootId();
    const apply = await g.cli('apply (take over, initramfs)', ['apply', '--yes'], 60 * MIN);
    expect(apply.code, apply.stdout + apply.stderr).toBe(0);
    expect(await g.guest(`cat ${VFIO_CONF}`)).toMatch(/^# pve-passthrough \S+ took over: options vfio-pci ids=8086:10d3\nsoftdep e1000e pre: vfio-pci\n$/);
    expect(await vfioOptions()).toEqual(['options vfio_pci ids=8086:10d3,8086:100e']);
    // The proof is the next boot: reboot by hand unless apply did.
    if ((await g.bootId()) === before) await g.reboot('reboot by hand (after the takeover)');
    expect(await g.driverOf(E1000E_ADDRESS)).toBe('vfio-pci');
    expect(await g.driverOf(SPARE_ADDRESS)).toBe('vfio-pci');
    const verify = await g.cli('verify (after the takeover)', ['verify'], 5 * MIN);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
  }, 90 * MIN);

  it('rollback puts the operator\'s vfio.conf back byte for byte', async () => {
    const rb = await g.cli('rollback', ['rollback', '--node', NODE, '--yes'], 60 * MIN);
    expect(rb.code, rb.stdout + rb.stderr).toBe(0);
    expect(await sha(VFIO_CONF)).toBe(original);
    expect(await sha(OWNED)).toBe('absent');
    expect(await vfioOptions()).toEqual(['options vfio_pci ids=8086:10d3']);
  }, 61 * MIN);
});
