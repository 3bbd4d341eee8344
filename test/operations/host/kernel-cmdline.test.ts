import { describe, expect, it } from 'vitest';
import { desiredCmdlineTokens, LEDGER_PREFIX, planKernelCmdline, renderGrubDropin } from '../../../src/operations/host/kernel-cmdline.js';
import { UnsafeContentError } from '../../../src/operations/host/paths.js';
import { fixture, makeNode, pve7Intel, pve9AmdSdboot, pve9IntelGrub, withFiles } from './facts-factory.js';

const GPU_DEV = { address: '0000:01:00.0' };
const DROPIN = '/etc/default/grub.d/pve-passthrough.cfg';

describe('desiredCmdlineTokens', () => {
  it.each([
    ['Intel, next kernel 5.15', pve7Intel(), true, {}, ['intel_iommu=on']],
    ['Intel, next kernel 6.5', pve9IntelGrub({ kernel: { next: '6.5.13-6-pve' } }), true, {}, ['intel_iommu=on']],
    ['Intel, running 6.5 but next 6.8', pve9IntelGrub({ kernel: { running: '6.5.13-6-pve', next: '6.8.12-9-pve' } }), true, {}, []],
    ['Intel 5.15 without devices', pve7Intel(), false, {}, []],
    ['AMD old kernel: never amd_iommu=on', pve9AmdSdboot({ kernel: { next: '5.15.1-1-pve' } }), true, {}, []],
    ['IOMMU kind unknown, CPU says Intel', pve7Intel({ iommu: { kind: null } }), true, {}, ['intel_iommu=on']],
    ['iommu=pt and params in order', pve9IntelGrub(), true, { iommuPassthrough: true, kernelParams: ['initcall_blacklist=sysfb_init', 'iommu=pt'] }, ['iommu=pt', 'initcall_blacklist=sysfb_init']],
  ])('%s', (_n, facts, hasDevices, node, expected) => {
    expect(desiredCmdlineTokens(makeNode(node), facts, hasDevices).tokens).toEqual(expected);
  });

  it('drops amd_iommu=on with a warning, refuses intremap=off, gates ACS override', () => {
    const r = desiredCmdlineTokens(makeNode({ kernelParams: ['amd_iommu=on', 'intremap=off', 'pcie_acs_override=downstream'] }), pve9IntelGrub(), true);
    expect(r.tokens).toEqual([]);
    expect(r.warnings.map((w) => w.subject)).toEqual(['kernel parameter amd_iommu=on']);
    expect(r.refused.map((x) => x.subject)).toEqual(['kernel parameter intremap=off', 'kernel parameter pcie_acs_override=downstream']);
    const ok = desiredCmdlineTokens(makeNode({ allowAcsOverride: true, kernelParams: ['pcie_acs_override=downstream'] }), pve9IntelGrub(), true);
    expect(ok.tokens).toEqual(['pcie_acs_override=downstream']);
    expect(ok.warnings[0]?.message).toMatch(/ACS override/);
  });
});

describe('GRUB drop-in', () => {
  it('writes only tokens not configured elsewhere', () => {
    const facts = withFiles(pve7Intel(), { '/etc/default/grub': fixture('grub-default/howto-edited.txt') });
    const r = planKernelCmdline(makeNode({ devices: [GPU_DEV], iommuPassthrough: true, kernelParams: ['initcall_blacklist=sysfb_init'] }), facts, true);
    expect(r.changes).toEqual([{ path: DROPIN, after: renderGrubDropin(['initcall_blacklist=sysfb_init']), reason: expect.any(String) }]);
    expect(r.changes[0]?.after).toBe('# Managed by pve-passthrough. Changes here are overwritten.\nGRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT initcall_blacklist=sysfb_init"\n');
  });
  it('no change when the drop-in already says it; removal when nothing is left', () => {
    const node = makeNode({ devices: [GPU_DEV] });
    const applied = withFiles(pve7Intel(), { [DROPIN]: renderGrubDropin(['intel_iommu=on']) });
    expect(planKernelCmdline(node, applied, true).changes).toEqual([]);
    const removed = planKernelCmdline(makeNode(), applied, false);
    expect(removed.changes).toEqual([{ path: DROPIN, after: null, reason: expect.stringMatching(/no kernel parameters/) }]);
  });
  it('a later grub.d file that overrides without $GRUB_CMDLINE_LINUX_DEFAULT blocks the node, naming it', () => {
    const facts = withFiles(pve7Intel(), {
      '/etc/default/grub.d/zz-vendor.cfg': fixture('grub-default/override-later.txt'),
      '/etc/default/grub.d/10-early.cfg': fixture('grub-default/override-later.txt'),
    });
    const r = planKernelCmdline(makeNode({ devices: [GPU_DEV] }), facts, true);
    expect(r.blocking).toHaveLength(1);
    expect(r.blocking[0]?.subject).toBe('file /etc/default/grub.d/zz-vendor.cfg');
    expect(r.blocking[0]?.reason).toMatch(/line 2 .*without "\$GRUB_CMDLINE_LINUX_DEFAULT"/);
  });
  it('a later unreadable or hostile assignment also blocks; an appending one does not', () => {
    const hostile = withFiles(pve7Intel(), { '/etc/default/grub.d/zz.cfg': fixture('grub-default/hostile-trailing-command.txt') });
    expect(planKernelCmdline(makeNode({ devices: [GPU_DEV] }), hostile, true).blocking[0]?.reason).toMatch(/line 1 sets GRUB_CMDLINE_LINUX_DEFAULT without/);
    const dynamic = withFiles(pve7Intel(), { '/etc/default/grub.d/zz.cfg': fixture('grub-default/command-substitution.txt') });
    expect(planKernelCmdline(makeNode({ devices: [GPU_DEV] }), dynamic, true).blocking[0]?.reason).toMatch(/cannot evaluate \(command substitution\)/);
    const appending = withFiles(pve7Intel(), { '/etc/default/grub.d/zz.cfg': fixture('grub-default/appending-later.txt') });
    expect(planKernelCmdline(makeNode({ devices: [GPU_DEV] }), appending, true).blocking).toEqual([]);
  });
  it('the override does not matter when nothing needs adding', () => {
    const facts = withFiles(pve9IntelGrub(), { '/etc/default/grub.d/zz-vendor.cfg': fixture('grub-default/override-later.txt') });
    expect(planKernelCmdline(makeNode({ devices: [GPU_DEV] }), facts, true).blocking).toEqual([]);
  });
  it('warns about a conflicting value configured elsewhere', () => {
    const facts = withFiles(pve9IntelGrub(), { '/etc/default/grub': 'GRUB_CMDLINE_LINUX_DEFAULT="quiet iommu=off"\n' });
    const r = planKernelCmdline(makeNode({ iommuPassthrough: true }), facts, false);
    expect(r.warnings.map((w) => w.message)).toContainEqual(expect.stringMatching(/also sets iommu=off/));
  });
  it('asserts tokens before rendering', () => {
    expect(() => renderGrubDropin(['quiet" ; reboot ; "'])).toThrow(UnsafeContentError);
    expect(() => renderGrubDropin(['$(reboot)'])).toThrow(UnsafeContentError);
  });
});

describe('systemd-boot /etc/kernel/cmdline', () => {
  const node = makeNode({ name: 'pve2', devices: [GPU_DEV], iommuPassthrough: true, kernelParams: ['initcall_blacklist=sysfb_init'] });
  it('appends missing tokens to the first line, keeps the rest, records the ledger', () => {
    const facts = withFiles(pve9AmdSdboot(), { '/etc/kernel/cmdline': fixture('kernel-cmdline/two-lines.txt') });
    const r = planKernelCmdline(node, facts, true);
    expect(r.changes).toEqual([{
      path: '/etc/kernel/cmdline',
      after: 'root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt initcall_blacklist=sysfb_init\nthis second line is ignored by proxmox-boot-tool\n',
      reason: expect.stringMatching(/append iommu=pt initcall_blacklist=sysfb_init/),
    }]);
    expect(r.ledger).toEqual(['iommu=pt', 'initcall_blacklist=sysfb_init']);
  });
  it('never duplicates a token the user already has, and does not claim it', () => {
    const facts = withFiles(pve9AmdSdboot(), { '/etc/kernel/cmdline': fixture('kernel-cmdline/zfs-with-iommu.txt') });
    const r = planKernelCmdline(node, facts, true);
    expect(r.changes[0]?.after).toBe('root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt initcall_blacklist=sysfb_init\n');
    expect(r.ledger).toEqual(['initcall_blacklist=sysfb_init']);
  });
  it('removes only ledger tokens that are no longer desired', () => {
    const facts = withFiles(pve9AmdSdboot(), {
      '/etc/kernel/cmdline': 'root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet iommu=pt initcall_blacklist=sysfb_init\n',
      '/etc/modprobe.d/pve-passthrough.conf': `# Managed by pve-passthrough. Changes here are overwritten.\n${LEDGER_PREFIX} initcall_blacklist=sysfb_init\n`,
    });
    const r = planKernelCmdline(makeNode({ name: 'pve2' }), facts, false);
    expect(r.changes[0]?.after).toBe(fixture('kernel-cmdline/zfs-with-iommu.txt'));
    expect(r.ledger).toEqual([]);
  });
  it('refuses a first line without root=', () => {
    const facts = withFiles(pve9AmdSdboot(), { '/etc/kernel/cmdline': fixture('kernel-cmdline/no-root.txt') });
    const r = planKernelCmdline(node, facts, true);
    expect(r.changes.filter((c) => c.path === '/etc/kernel/cmdline')).toEqual([]);
    expect(r.blocking[0]).toMatchObject({ subject: 'file /etc/kernel/cmdline', reason: expect.stringMatching(/no root=/) });
  });
  it('refuses to invent /etc/kernel/cmdline', () => {
    const facts = withFiles(pve9AmdSdboot(), { '/etc/kernel/cmdline': null });
    expect(planKernelCmdline(node, facts, true).blocking[0]?.reason).toMatch(/will not invent/);
  });
  it('removes a stale GRUB drop-in (not read by systemd-boot)', () => {
    const facts = withFiles(pve9AmdSdboot(), { [DROPIN]: renderGrubDropin(['iommu=pt']), '/etc/kernel/cmdline': fixture('kernel-cmdline/zfs-with-iommu.txt') });
    const r = planKernelCmdline(makeNode({ name: 'pve2', iommuPassthrough: true }), facts, false);
    expect(r.changes).toEqual([{ path: DROPIN, after: null, reason: expect.any(String) }]);
  });
});
