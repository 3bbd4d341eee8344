import { describe, expect, it } from 'vitest';
import type { FileStep } from '../../../src/operations/host/file-steps.js';
import { refreshSteps, refreshStepsForPaths } from '../../../src/operations/host/refresh.js';
import { pve9AmdSdboot, pve9IntelGrub } from './facts-factory.js';

const w = (path: string, before: string | null, after: string): FileStep => ({ kind: 'write-file', path, before, after, mode: '0644', uid: 0, gid: 0, reason: 't' });
const MP = '/etc/modprobe.d/pve-passthrough.conf';
const GRUB = '/etc/default/grub.d/pve-passthrough.cfg';
const CMD = '/etc/kernel/cmdline';
const plainGrub = pve9IntelGrub();
const pbtGrub = pve9IntelGrub({ bootLoader: { proxmoxBootTool: true } });
const sdboot = pve9AmdSdboot();

describe('refreshSteps', () => {
  it.each([
    ['plain GRUB, modprobe', plainGrub, [w(MP, null, 'options vfio-pci ids=10de:2484\n')], ['update-initramfs']],
    ['plain GRUB, grub.d', plainGrub, [w(GRUB, null, 'x')], ['update-grub']],
    ['plain GRUB, both', plainGrub, [w(GRUB, null, 'x'), w(MP, null, 'softdep a pre: vfio-pci')], ['update-initramfs', 'update-grub']],
    ['PBT GRUB, grub.d', pbtGrub, [w(GRUB, null, 'x')], ['proxmox-boot-tool-refresh']],
    ['PBT GRUB, modprobe', pbtGrub, [w(MP, null, 'blacklist a')], ['update-initramfs', 'proxmox-boot-tool-refresh']],
    ['systemd-boot, cmdline', sdboot, [w(CMD, 'root=x', 'root=x iommu=pt')], ['proxmox-boot-tool-refresh']],
    ['systemd-boot, both', sdboot, [w(CMD, 'root=x', 'root=x iommu=pt'), w('/etc/modules', 'vfio_virqfd\n', '')], ['update-initramfs', 'proxmox-boot-tool-refresh']],
    ['systemd-boot, stale grub drop-in removed', sdboot, [{ kind: 'remove-file', path: GRUB, before: 'x', reason: 't' } as FileStep], []],
    ['comment-only change (ledger)', sdboot, [w(MP, '# h\n', '# h\n# cmdline-tokens-added: iommu=pt\n'), w(CMD, 'root=x', 'root=x iommu=pt')], ['proxmox-boot-tool-refresh']],
    ['nothing', plainGrub, [], []],
  ])('%s', (_n, facts, steps, expected) => {
    expect(refreshSteps(steps, facts).map((s) => (s.kind === 'refresh' ? s.command : s.kind))).toEqual(expected);
  });
});

describe('refreshStepsForPaths (rollback: restored files, content not read)', () => {
  it.each([
    ['plain GRUB, modprobe restored', plainGrub, [MP], ['update-initramfs']],
    ['plain GRUB, grub.d and modprobe restored', plainGrub, [GRUB, MP], ['update-initramfs', 'update-grub']],
    ['PBT GRUB, modprobe restored', pbtGrub, [MP], ['update-initramfs', 'proxmox-boot-tool-refresh']],
    ['systemd-boot, cmdline restored', sdboot, [CMD], ['proxmox-boot-tool-refresh']],
    ['systemd-boot, a comment-only ledger change still counts (bytes unknown)', sdboot, [MP], ['update-initramfs', 'proxmox-boot-tool-refresh']],
  ])('%s', (_n, facts, paths, expected) => {
    expect(refreshStepsForPaths(paths, facts).map((s) => (s.kind === 'refresh' ? s.command : s.kind))).toEqual(expected);
  });
  it('asks for what plan asks for when every file changed in effect', () => {
    const steps = [w(GRUB, null, 'x'), w(MP, null, 'blacklist a'), w(CMD, 'root=x', 'root=x iommu=pt')];
    for (const facts of [plainGrub, pbtGrub, sdboot]) expect(refreshStepsForPaths(steps.map((s) => s.path), facts)).toEqual(refreshSteps(steps, facts));
  });
});
