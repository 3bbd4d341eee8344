import { describe, expect, it } from 'vitest';
import { decideBootLoader } from '../../../src/facts/host/boot-loader.js';
import { compareKernels, nextKernel } from '../../../src/facts/host/parse-kernel.js';
import { kernelBelow } from '../../../src/operations/host/kernel-version.js';
import { parsePbtStatus } from '../../../src/facts/host/parse-pbt-status.js';
import { cmdlineHas, tokenizeCmdline } from '../../../src/facts/host/parse-proc-cmdline.js';
import { readFiles } from '../../../src/facts/host/read-files.js';
import { cases } from './fixtures.js';

const pbt = Object.fromEntries(cases<{ rc: number }>('pbt-status').map((c) => [c.name, parsePbtStatus(c.input, c.expected.rc).value]));

describe('boot loader decision (src/facts/host/boot-loader.ts)', () => {
  it.each([
    ['ZFS UEFI, all ESPs systemd-boot', true, '7A1B-33C4\n7A1C-0F12\n', 'sdboot-zfs-mirror', 'systemd-boot', true],
    ['`systemd-boot` marker accepted too', true, '5D2E-9A10\n', 'systemd-boot-marker', 'systemd-boot', true],
    ['Secure Boot conversion: an ESP carries GRUB', true, '2C44-81F0\n2C45-0A1E\n', 'secureboot-grub', 'grub', true],
    ['ZFS on legacy BIOS', false, '9E6B-1C2D\n', 'zfs-legacy-grub', 'grub', true],
    ['systemd-boot ESP but booted legacy (no /sys/firmware/efi)', false, '7A1B-33C4\n', 'sdboot-zfs-mirror', 'grub', true],
    ['plain GRUB on LVM', true, null, 'not-configured', 'grub', false],
    ['uuids file present, tool missing', true, '7A1B-33C4\n', 'not-installed', 'grub', false],
    ['uuids file empty', true, '\n', 'not-configured', 'grub', false],
  ] as const)('%s', (_, efi, uuids, status, kind, managed) => {
    const b = decideBootLoader({ efi, bootUuids: uuids, pbt: pbt[status] as never });
    expect(b.kind).toBe(kind);
    expect(b.proxmoxBootTool).toBe(managed);
    expect(b.efi).toBe(efi);
    expect(b.evidence.at(-1)).toMatch(kind === 'grub' ? /^GRUB: / : /^systemd-boot: /);
  });
});

describe('kernel versions', () => {
  it.each([
    ['6.8.12-9-pve', '6.2', true],
    ['6.1.0-28-amd64', '6.2', false],
    ['6.2.0-1-pve', '6.2', true],
    ['6.14.8-2-pve', '6.8', true],
    ['5.15.158-2-pve', '6.2', false],
    ['6.5.13-5-pve', '6.8', false],
    ['7.0.0-1-pve', '6.8', true],
  ])('%s at least %s = %s (the one comparer, kernelBelow)', (release, min, want) => {
    const [major, minor] = min.split('.').map(Number) as [number, number];
    expect(kernelBelow(release, major, minor)).toBe(!want);
  });
  it('sorts numerically, not as text', () => {
    expect(['6.8.12-9-pve', '6.14.8-2-pve', '6.8.4-2-pve', '6.8.12-10-pve'].sort(compareKernels)).toEqual(['6.8.4-2-pve', '6.8.12-9-pve', '6.8.12-10-pve', '6.14.8-2-pve']);
  });
  it.each([
    ['next-boot pin wins', { pin: '6.8.12-9-pve', nextBootPin: '6.5.13-5-pve' }, '6.5.13-5-pve'],
    ['permanent pin', { pin: '6.8.12-9-pve', nextBootPin: null }, '6.8.12-9-pve'],
    ['newest installed', { pin: null, nextBootPin: null }, '6.14.8-2-pve'],
    ['a pin to a removed kernel is ignored', { pin: '6.2.16-3-pve', nextBootPin: null }, '6.14.8-2-pve'],
  ])('next kernel: %s', (_, pins, want) => {
    expect(nextKernel({ running: '6.8.12-9-pve', installed: ['6.5.13-5-pve', '6.8.12-9-pve', '6.14.8-2-pve'], ...pins }).release).toBe(want);
  });
  it('falls back to the running kernel when nothing is listed', () => {
    expect(nextKernel({ running: '6.8.12-9-pve', installed: [], pin: null, nextBootPin: null })).toEqual({ release: '6.8.12-9-pve', why: 'running (no installed kernels listed)' });
  });
});

describe('cmdline helpers', () => {
  it('finds keys and exact values', () => {
    const t = tokenizeCmdline('quiet intel_iommu=on iommu=pt').value;
    expect(cmdlineHas(t, 'intel_iommu')).toBe(true);
    expect(cmdlineHas(t, 'intel_iommu', 'on')).toBe(true);
    expect(cmdlineHas(t, 'iommu', 'on')).toBe(false);
    expect(cmdlineHas(t, 'amd_iommu')).toBe(false);
  });
});

describe('files from cat, grep -r and stat', () => {
  const sec = (output: string, rc = 0) => ({ output, rc });
  const run = (dirOut: string, statOut: string) =>
    readFiles(new Map([
      ['dir:/etc/modprobe.d', sec(dirOut, dirOut === '' ? 1 : 0)],
      ['stat', sec(statOut)],
      ['file:/etc/modules', sec('cat: /etc/modules: Permission denied\n', 1)],
      ['file:/etc/kernel/cmdline', sec('root=ZFS=rpool/ROOT/pve-1 boot=zfs', 0)],
    ]));
  it('keeps cat content exact (no newline added) and flags unreadable files', () => {
    const r = run('', '');
    expect(r.value['/etc/kernel/cmdline']?.content).toBe('root=ZFS=rpool/ROOT/pve-1 boot=zfs');
    expect(r.value['/etc/modules']).toEqual({ path: '/etc/modules', content: null });
    expect(r.errors.join('\n')).toContain('/etc/modules could not be read (exit 1)');
  });
  it('adds empty .conf files from stat, refuses to guess symlinks, ignores non-.conf names', () => {
    const r = run('', '/etc/modprobe.d/empty.conf 644 0 0\n/etc/modprobe.d/link.conf 777 0 0\n/etc/modprobe.d/README 644 0 0\n');
    expect(r.value['/etc/modprobe.d/empty.conf']).toEqual({ path: '/etc/modprobe.d/empty.conf', content: '', mode: '0644', uid: 0, gid: 0 });
    expect(r.value['/etc/modprobe.d/link.conf']).toBeUndefined();
    expect(r.value['/etc/modprobe.d/README']).toBeUndefined();
    expect(r.errors).toContain('/etc/modprobe.d/link.conf is a symlink; its target was not read');
  });
  it('ignores a binary vim swap file but not a binary .conf', () => {
    const r = run('grep: /etc/modprobe.d/.vfio.conf.swp: binary file matches\ngrep: /etc/modprobe.d/x.conf: binary file matches\n', '');
    expect(r.errors.filter((e) => e.startsWith('/etc/modprobe.d/'))).toEqual(['/etc/modprobe.d/x.conf looks binary; not read']);
  });
});

describe('real-kernel findings (QEMU guest)', () => {
  it('module names may carry capitals (iTCO_wdt is loaded on most Intel boards)', async () => {
    const { parseProcModules } = await import('../../../src/facts/host/modules-load-d.js');
    const r = parseProcModules('iTCO_wdt 12288 0 - Live 0x0000000000000000\niTCO_vendor_support 12288 1 iTCO_wdt, Live 0x0000000000000000\nvfio_pci 16384 0 - Live 0x0\n');
    expect(r.errors).toEqual([]);
    expect(r.value).toEqual(['iTCO_wdt', 'iTCO_vendor_support', 'vfio_pci']);
  });
});
