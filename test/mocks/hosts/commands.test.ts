import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { atomicWrite, releaseLock, removeFile, takeLock } from '../../../src/transport/shell.js';
import { Vfs } from '../../../mocks/hosts/vfs.js';
import { cat, newHost, q, readFacts, sh, writeFile } from './helpers.js';

describe('virtual file system', () => {
  it('resolves relative symlinks like readlink -f, through .. and chained links', () => {
    const v = new Vfs();
    v.mkdir('/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0/net/eno1', { parents: true });
    v.mkdir('/sys/class/net', { parents: true });
    v.symlink('/sys/class/net/eno1', '../../devices/pci0000:00/0000:00:1c.0/0000:03:00.0/net/eno1');
    v.symlink('/sys/class/net/alias', 'eno1');
    expect(v.resolve('/sys/class/net/alias').path).toBe('/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0/net/eno1');
    expect(v.resolve('/sys/class/net/eno1/../../net').path).toBe('/sys/devices/pci0000:00/0000:00:1c.0/0000:03:00.0/net');
    expect(v.resolve('//sys/./class/net/missing').node).toBeNull();
    expect(() => v.resolve('/sys/nope/x')).toThrow('No such file or directory');
  });

  it('detects link loops', () => {
    const v = new Vfs();
    v.symlink('/a', 'b');
    v.symlink('/b', 'a');
    expect(() => v.resolve('/a')).toThrow('Too many levels of symbolic links');
  });

  it('globs within one segment, through directory links, sorted in byte order, skipping dot files', () => {
    const v = new Vfs();
    for (const d of ['B', 'a', '.hidden']) v.mkdir(`/d/${d}`, { parents: true });
    v.write('/d/a/x', '');
    v.mkdir('/t/real', { parents: true });
    v.write('/t/real/x', '');
    v.symlink('/d/B', '/t/real');
    expect(v.glob('/d/*')).toEqual(['/d/B', '/d/a']);
    expect(v.glob('/d/*/x')).toEqual(['/d/B/x', '/d/a/x']);
    expect(v.glob('/d/*/y')).toEqual([]);
  });
});

describe('file commands', () => {
  it('stat prints name, octal mode, uid, gid; a missing file is an error line and exit 1', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const r = sh(h, q(['stat', '-c', '%n %a %u %g', '/etc/default/grub', '/etc/missing', '/etc/hostname']));
    expect(r.stdout).toBe('/etc/default/grub 644 0 0\n/etc/hostname 644 0 0\n');
    expect(r.stderr).toBe("stat: cannot statx '/etc/missing': No such file or directory\n");
    expect(r.code).toBe(1);
  });

  it('grep -H . skips empty lines and names the file; grep -r -H prints every line of every file', () => {
    const h = newHost('pve9-intel-grub-lvm');
    h.drift.writeFile('/etc/modprobe.d/a.conf', 'options kvm ignore_msrs=1\n\nsoftdep x pre: y');
    const r = sh(h, q(['grep', '-r', '-H', '', '/etc/modprobe.d']));
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['/etc/modprobe.d/a.conf:options kvm ignore_msrs=1', '/etc/modprobe.d/a.conf:', '/etc/modprobe.d/a.conf:softdep x pre: y']);
    expect(sh(h, q(['grep', '-H', '.', '/etc/modprobe.d/a.conf'])).stdout).toBe('/etc/modprobe.d/a.conf:options kvm ignore_msrs=1\n/etc/modprobe.d/a.conf:softdep x pre: y\n');
    expect(sh(h, q(['grep', '-r', '-H', '', '/etc/nowhere']))).toMatchObject({ code: 2, stderr: 'grep: /etc/nowhere: No such file or directory\n' });
  });

  it('grep -r does not follow the modules.conf -> ../modules link (as GNU grep -r)', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, q(['grep', '-r', '-H', '', '/etc/modules-load.d']))).toMatchObject({ code: 1, stdout: '' });
    expect(sh(h, q(['readlink', '-f', '/etc/modules-load.d/modules.conf'])).stdout).toBe('/etc/modules\n');
  });

  it('grep -m 1 takes an ERE and prints only the line', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    expect(sh(h, q(['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo'])).stdout).toBe('vendor_id\t: AuthenticAMD\n');
    expect(sh(h, q(['grep', '-m', '1', '^nothing', '/proc/cpuinfo'])).code).toBe(1);
  });

  it('readlink -f prints nothing and fails when a middle component is missing', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, q(['readlink', '-f', '/nope/x']))).toMatchObject({ code: 1, stdout: '' });
    expect(sh(h, q(['readlink', '-f', '/etc/newfile'])).stdout).toBe('/etc/newfile\n');
  });

  it('test -d/-e/-f', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, `test -d /etc; printf %s "$?"; test -f /etc; printf %s "$?"; test -e /etc/hostname; printf %s "$?"; test -f /sys/firmware/efi; printf %s "$?"`).stdout).toBe('0101');
  });

  it('the lock is mkdir (fails when held) and rmdir; a reboot clears /run', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, takeLock()).code).toBe(0);
    expect(sh(h, takeLock())).toMatchObject({ code: 1, stderr: "mkdir: cannot create directory '/run/pve-passthrough.lock': File exists\n" });
    expect(sh(h, releaseLock()).code).toBe(0);
    expect(sh(h, releaseLock()).code).toBe(1);
    sh(h, takeLock());
    sh(h, q(['systemctl', 'reboot']));
    h.completeReboot();
    expect(sh(h, takeLock()).code).toBe(0);
  });

  it('runs the atomic write form with a backup, keeping mode and owner', () => {
    const h = newHost('pve9-intel-grub-lvm');
    h.vfs.get('/etc/default/grub')!.mode = 0o600;
    const backup = '/var/lib/pve-passthrough/backups/run1/etc/default/grub';
    const r = sh(h, atomicWrite('/etc/default/grub', { mode: '0644', uid: 0, gid: 0, backupTo: backup }), 'GRUB_DEFAULT=0\n');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(cat(h, '/etc/default/grub')).toBe('GRUB_DEFAULT=0\n');
    expect(h.vfs.get(backup)).toMatchObject({ kind: 'file', mode: 0o600 });
    expect(h.vfs.read(backup)).toContain('GRUB_CMDLINE_LINUX_DEFAULT="quiet"');
    expect(h.vfs.exists('/etc/default/.grub.pvpt-tmp')).toBe(false);
    expect(sh(h, q(['sha256sum', '/etc/default/grub'])).stdout).toBe(`${createHash('sha256').update('GRUB_DEFAULT=0\n').digest('hex')}  /etc/default/grub\n`);
  });

  it('write form into a new directory, then removeFile', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, '/etc/new.d/x.conf', 'a\n', '0640');
    expect(sh(h, q(['stat', '-c', '%n %a %u %g', '/etc/new.d/x.conf'])).stdout).toBe('/etc/new.d/x.conf 640 0 0\n');
    expect(sh(h, removeFile('/etc/new.d/x.conf')).code).toBe(0);
    expect(h.vfs.exists('/etc/new.d/x.conf')).toBe(false);
    expect(sh(h, removeFile('/etc/new.d/x.conf')).code).toBe(0);
  });

  it('cp/mv/chmod/chown/sync/sha256sum report missing files like coreutils', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const errs = [
      [q(['cp', '-p', '/nope', '/tmp/x']), "cp: cannot stat '/nope': No such file or directory\n"],
      [q(['mv', '-f', '/nope', '/tmp/x']), "mv: cannot stat '/nope': No such file or directory\n"],
      [q(['chmod', '0644', '/nope']), "chmod: cannot access '/nope': No such file or directory\n"],
      [q(['chown', '0:0', '/nope']), "chown: cannot access '/nope': No such file or directory\n"],
      [q(['sync', '/nope']), "sync: error opening '/nope': No such file or directory\n"],
      [q(['sha256sum', '/nope']), 'sha256sum: /nope: No such file or directory\n'],
      [q(['rmdir', '/nope']), "rmdir: failed to remove '/nope': No such file or directory\n"],
      [q(['cat', '/etc']), 'cat: /etc: Is a directory\n'],
    ];
    for (const [script, stderr] of errs) expect(sh(h, script!), script).toMatchObject({ code: 1, stderr });
    expect(sh(h, q(['rm', '-f', '/nope'])).code).toBe(0);
  });

  it('printf repeats its format for extra arguments and prints "$?"', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, `printf '<%s>\\n' a b c`).stdout).toBe('<a>\n<b>\n<c>\n');
    expect(sh(h, `printf 'x\\n'`).stdout).toBe('x\n');
  });
});

describe('system tool output', () => {
  it('lspci -nnk -D: header with class code and last [vvvv:dddd], tab lines, no driver line when unbound', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const out = sh(h, q(['lspci', '-nnk', '-D'])).stdout;
    expect(out).toContain('0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA104 [GeForce RTX 3070] [10de:2484] (rev a1)\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:87b8]\n\tKernel driver in use: nouveau\n\tKernel modules: nvidiafb, nouveau\n');
    for (const line of out.trimEnd().split('\n')) expect(line).toMatch(/^(?:[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7] .+ \[[0-9a-f]{4}\]: .+ \[[0-9a-f]{4}:[0-9a-f]{4}\](?: \(rev [0-9a-f]{2}\))?|\t(?:Subsystem: .+ \[[0-9a-f]{4}:[0-9a-f]{4}\]|Kernel driver in use: \S+|Kernel modules: .+))$/);
    h.drift.rebindDriver('0000:01:00.0', null);
    expect(sh(h, q(['lspci', '-nnk', '-D'])).stdout).toContain('[10de:2484] (rev a1)\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:87b8]\n\tKernel modules: nvidiafb, nouveau\n');
  });

  it('ip -o addr / route, lsblk -P, systemctl, uname, pveversion', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, q(['ip', '-o', 'addr', 'show'])).stdout.split('\n')).toContain('3: vmbr0    inet 192.168.10.11/24 scope global vmbr0\\       valid_lft forever preferred_lft forever');
    expect(sh(h, q(['ip', '-o', 'route', 'show', 'default'])).stdout).toBe('default via 192.168.10.1 dev vmbr0 proto kernel onlink \n');
    expect(sh(h, q(['lsblk', '-n', '-P', '-o', 'NAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT'])).stdout.split('\n')).toContain('NAME="pve-root" PKNAME="sda3" TYPE="lvm" FSTYPE="ext4" MOUNTPOINT="/"');
    expect(sh(h, q(['systemctl', '--failed', '--plain', '--no-legend']))).toMatchObject({ code: 0, stdout: '' });
    expect(sh(h, q(['systemctl', 'is-system-running']))).toMatchObject({ code: 0, stdout: 'running\n' });
    expect(sh(h, q(['pveversion'])).stdout).toBe('pve-manager/9.1.1/42db4a6cf33dac83 (running kernel: 6.17.2-1-pve)\n');
  });

  it('a plain Debian host has no PVE tools: 127 "not found", not a violation', () => {
    const h = newHost('debian-plain-grub');
    for (const c of [['pveversion'], ['proxmox-boot-tool', 'status'], ['pvecm', 'status']]) {
      expect(sh(h, q(c))).toMatchObject({ code: 127, stderr: `sh: 1: ${c[0]}: not found\n` });
    }
    expect(h.violations).toEqual([]);
  });

  it('pvecm status on a cluster member shows quorum; standalone is an error', () => {
    const h = newHost('twin-nics');
    const out = sh(h, q(['pvecm', 'status'])).stdout;
    expect(out).toMatch(/^Name:\s+lab$/m);
    expect(out).toMatch(/^Quorate:\s+Yes$/m);
    expect(out).toMatch(/^Expected votes:\s+3$/m);
    expect(out).toMatch(/^Quorum:\s+2$/m);
    h.clusterVotesOnline = 1;
    expect(sh(h, q(['pvecm', 'status'])).stdout).toMatch(/^Quorate:\s+No$/m);
    expect(sh(newHost('pve9-intel-grub-lvm'), q(['pvecm', 'status']))).toMatchObject({ code: 2, stderr: "Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n" });
  });

  it('proxmox-boot-tool status and kernel list on a systemd-boot host', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    expect(sh(h, q(['proxmox-boot-tool', 'status'])).stdout).toBe(
      "Re-executing '/usr/sbin/proxmox-boot-tool' in new private mount namespace..\nSystem currently booted with uefi\n" +
        '7A1B-33C4 is configured with: uefi (versions: 6.8.12-15-pve, 6.14.11-4-pve)\n7A1C-0F12 is configured with: uefi (versions: 6.8.12-15-pve, 6.14.11-4-pve)\n',
    );
    expect(sh(h, q(['proxmox-boot-tool', 'kernel', 'list'])).stdout).toBe('Manually selected kernels:\nNone.\n\nAutomatically selected kernels:\n6.8.12-15-pve\n6.14.11-4-pve\n');
    expect(sh(newHost('pve84-intel-zfs-bios'), q(['proxmox-boot-tool', 'status'])).stdout).toContain('System currently booted with legacy bios\n5C2E-1A7B is configured with: grub (versions: 6.8.12-9-pve)\n');
  });

  it('sysfs seen by the facts batch: groups, boot_vga, links, bridge ports, block links', () => {
    const f = readFacts(newHost('pve9-amd-sdboot-zfs'));
    expect(f.get('iommu-class')?.output).toBe('/sys/class/iommu/ivhd0\n');
    expect(f.get('acpi-ivrs')?.rc).toBe(0);
    expect(f.get('acpi-dmar')?.rc).toBe(1);
    expect(f.get('iommu-groups')?.output).toContain('/sys/kernel/iommu_groups/13/devices/0000:01:00.0\n/sys/kernel/iommu_groups/13/devices/0000:01:00.1\n');
    expect(f.get('pci-sysfs')?.output).toContain('/sys/bus/pci/devices/0000:10:00.0/boot_vga:1\n');
    expect(f.get('net-links')?.output).toContain('/sys/devices/pci0000:00/0000:00:02.3/0000:04:00.0/net/enp4s0\n');
    expect(f.get('bridge-ports')?.output).toBe('/sys/class/net/vmbr0/brif/enp4s0\n');
    expect(f.get('block-links')?.output).toBe('/sys/devices/pci0000:00/0000:00:02.1/0000:02:00.0/nvme/nvme0/nvme0n1\n/sys/devices/pci0000:00/0000:00:02.2/0000:03:00.0/nvme/nvme1/nvme1n1\n');
    expect(f.get('bond-slaves')?.rc).toBe(2);
  });
});
