import { describe, expect, it } from 'vitest';
import { firstLine, splitCmdline, tokenKey } from '../../../src/operations/host/cmdline-tokens.js';
import { kernelNumbers } from '../../../src/facts/host/parse-kernel.js';
import { kernelBelow } from '../../../src/operations/host/kernel-version.js';
import { fixture } from './facts-factory.js';

describe('splitCmdline over /proc/cmdline fixtures', () => {
  it.each([
    ['grub-lvm.txt', ['BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve', 'root=/dev/mapper/pve-root', 'ro', 'quiet', 'intel_iommu=on', 'iommu=pt']],
    ['sdboot-zfs.txt', ['initrd=\\EFI\\proxmox\\6.14.8-2-pve\\initrd.img-6.14.8-2-pve', 'root=ZFS=rpool/ROOT/pve-1', 'boot=zfs', 'iommu=pt']],
    ['quoted-and-tabs.txt', ['BOOT_IMAGE=/vmlinuz', 'root=UUID=1', 'ro', 'quiet', 'dyndbg="file vfio_pci.c +p"', 'amd_iommu=on']],
    ['empty.txt', []],
  ])('%s', (file, expected) => {
    expect(splitCmdline(fixture(`proc-cmdline/${file}`))).toEqual(expected);
  });
  it('keys and first lines', () => {
    expect(tokenKey('pcie_acs_override=downstream,multifunction')).toBe('pcie_acs_override');
    expect(tokenKey('quiet')).toBe('quiet');
    expect(firstLine(fixture('kernel-cmdline/two-lines.txt'))).toBe('root=ZFS=rpool/ROOT/pve-1 boot=zfs');
  });
});

describe('kernel versions', () => {
  it.each([
    ['6.8.12-9-pve', 6, 8, false],
    ['6.5.13-6-pve', 6, 8, true],
    ['6.17.2-1-pve', 6, 8, false],
    ['5.15.158-2-pve', 6, 2, true],
    ['6.2.16-20-pve', 6, 2, false],
    ['7.0.1-1-pve', 6, 8, false],
    ['6.1', 6, 2, true],
  ] as const)('%s below %i.%i -> %s', (rel, maj, min, below) => {
    expect(kernelBelow(rel, maj, min)).toBe(below);
  });
  it.each(['', 'garbage', 'v6.8', '6', '$(reboot)'])('unreadable release %j', (rel) => {
    expect(kernelNumbers(rel)).toBeNull();
    expect(kernelBelow(rel, 6, 2)).toBeNull();
  });
});
