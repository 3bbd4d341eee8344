import { describe, expect, it } from 'vitest';
import { cat, newHost, q, reboot, sh, writeFile } from './helpers.js';

const DROPIN = '/etc/default/grub.d/pve-passthrough.cfg';
const MODPROBE = '/etc/modprobe.d/pve-passthrough.conf';
const MODLOAD = '/etc/modules-load.d/pve-passthrough.conf';
const HEADER = '# Managed by pve-passthrough. Changes here are overwritten.\n';
const GPU = '0000:01:00.0';
const GPU_AUDIO = '0000:01:00.1';

const ok = (r: { code: number | null }): void => expect(r.code).toBe(0);

describe('GRUB (plain): the installed grub.cfg decides /proc/cmdline', () => {
  it('a drop-in without update-grub changes nothing after a reboot; with update-grub it does', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const before = cat(h, '/proc/cmdline');
    expect(before).toBe('BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet\n');
    writeFile(h, DROPIN, `${HEADER}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt"\n`);
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toBe(before);

    const r = sh(h, q(['update-grub']));
    ok(r);
    expect(r.stderr).toBe('Generating grub configuration file ...\nFound linux image: /boot/vmlinuz-6.17.2-1-pve\nFound initrd image: /boot/initrd.img-6.17.2-1-pve\nFound linux image: /boot/vmlinuz-6.14.11-4-pve\nFound initrd image: /boot/initrd.img-6.14.11-4-pve\ndone\n');
    expect(cat(h, '/boot/grub/grub.cfg')).toContain('linux\t/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet iommu=pt');
    expect(cat(h, '/proc/cmdline')).toBe(before); // not before the reboot
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toBe('BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet iommu=pt\n');
    expect(sh(h, q(['dmesg'])).stdout).toMatch(/\] iommu: Default domain type: Passthrough \(set via kernel command line\)\n/);
  });

  it('evaluates /etc/default/grub then grub.d/*.cfg in order, expanding the variable', () => {
    const h = newHost('pve9-intel-grub-lvm');
    h.drift.writeFile('/etc/default/grub.d/10-a.cfg', "GRUB_CMDLINE_LINUX_DEFAULT='${GRUB_CMDLINE_LINUX_DEFAULT} a=1'\n");
    h.drift.writeFile('/etc/default/grub.d/20-b.cfg', '# b\nexport GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT b=2"\nGRUB_CMDLINE_LINUX="console=ttyS0"\n');
    ok(sh(h, q(['update-grub'])));
    reboot(h);
    // single quotes do not expand: 10-a sets the literal text, 20-b appends
    expect(cat(h, '/proc/cmdline')).toBe('BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro console=ttyS0 ${GRUB_CMDLINE_LINUX_DEFAULT} a=1 b=2\n');
  });

  it('broken quoting in a drop-in makes update-grub fail and installs nothing', () => {
    const h = newHost('pve9-intel-grub-lvm');
    h.drift.writeFile(DROPIN, 'GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt\n');
    const r = sh(h, q(['update-grub']));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${DROPIN}: Syntax error: Unterminated quoted string`);
    reboot(h);
    expect(cat(h, '/proc/cmdline')).not.toContain('iommu=pt');
  });

  it('a next-boot pin is used once, then the newest kernel boots again', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, '/etc/kernel/next-boot-pin', '6.14.11-4-pve\n');
    reboot(h);
    expect(sh(h, q(['uname', '-r'])).stdout).toBe('6.14.11-4-pve\n');
    expect(h.vfs.exists('/etc/kernel/next-boot-pin')).toBe(false);
    reboot(h);
    expect(sh(h, q(['uname', '-r'])).stdout).toBe('6.17.2-1-pve\n');
  });

  it('every boot has a new boot_id', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const first = cat(h, '/proc/sys/kernel/random/boot_id');
    reboot(h);
    const second = cat(h, '/proc/sys/kernel/random/boot_id');
    expect(second).not.toBe(first);
    expect(second).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(h.reboots).toBe(1);
  });
});

describe('systemd-boot via proxmox-boot-tool: /etc/kernel/cmdline + refresh', () => {
  it('editing GRUB files and running update-grub does not change the booted command line', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    const before = cat(h, '/proc/cmdline');
    expect(before).toBe('initrd=\\EFI\\proxmox\\6.14.11-4-pve\\initrd.img-6.14.11-4-pve root=ZFS=rpool/ROOT/pve-1 boot=zfs\n');
    writeFile(h, DROPIN, `${HEADER}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt"\n`);
    const r = sh(h, q(['update-grub']));
    expect(r.stderr).toContain("W: Running: 'proxmox-boot-tool refresh'");
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toBe(before);
  });

  it('appending to /etc/kernel/cmdline and refreshing does, after the reboot', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    writeFile(h, '/etc/kernel/cmdline', 'root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n');
    reboot(h);
    expect(cat(h, '/proc/cmdline')).not.toContain('iommu=pt');
    const r = sh(h, q(['proxmox-boot-tool', 'refresh']));
    ok(r);
    expect(r.stdout).toContain('Copying and configuring kernels on /dev/disk/by-uuid/7A1B-33C4\n\tCopying kernel and creating boot-entry for 6.8.12-15-pve\n');
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toBe('initrd=\\EFI\\proxmox\\6.14.11-4-pve\\initrd.img-6.14.11-4-pve root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n');
  });

  it('refuses to refresh a cmdline without root=, keeping the old entries', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    writeFile(h, '/etc/kernel/cmdline', 'boot=zfs iommu=pt\n');
    const r = sh(h, q(['proxmox-boot-tool', 'refresh']));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('No root= parameter in /etc/kernel/cmdline found!\n');
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toContain('root=ZFS=rpool/ROOT/pve-1 boot=zfs\n');
  });

  it('update-initramfs triggers the ESP sync (which also takes the current cmdline)', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    writeFile(h, '/etc/kernel/cmdline', 'root=ZFS=rpool/ROOT/pve-1 boot=zfs iommu=pt\n');
    const r = sh(h, q(['update-initramfs', '-u', '-k', 'all']));
    ok(r);
    expect(r.stdout).toMatch(/^update-initramfs: Generating \/boot\/initrd.img-6.14.11-4-pve\nupdate-initramfs: Generating \/boot\/initrd.img-6.8.12-15-pve\nRunning hook script 'zz-proxmox-boot'..\n/);
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toContain('iommu=pt');
  });

  it('amd_iommu=on is logged as an unknown option and changes nothing', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    writeFile(h, '/etc/kernel/cmdline', 'root=ZFS=rpool/ROOT/pve-1 boot=zfs amd_iommu=on\n');
    ok(sh(h, q(['proxmox-boot-tool', 'refresh'])));
    reboot(h);
    const dmesg = sh(h, q(['dmesg'])).stdout;
    expect(dmesg).toMatch(/^\[\s+\d+\.\d{6}\] AMD-Vi: Unknown option - 'on'$/m);
    expect(dmesg).toContain('AMD-Vi: Interrupt remapping enabled');
    expect(sh(h, `printf '%s\\n' /sys/class/iommu/*`).stdout).toBe('/sys/class/iommu/ivhd0\n');
  });
});

describe('GRUB on proxmox-boot-tool ESPs (ZFS, legacy BIOS)', () => {
  it('update-grub alone hands over to refresh; the ESP copy is what boots', () => {
    const h = newHost('pve84-intel-zfs-bios');
    expect(cat(h, '/proc/cmdline')).toBe('BOOT_IMAGE=/boot/vmlinuz-6.8.12-9-pve root=ZFS=/ROOT/pve-1 ro root=ZFS=rpool/ROOT/pve-1 boot=zfs quiet\n');
    writeFile(h, DROPIN, `${HEADER}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT iommu=pt"\n`);
    const r = sh(h, q(['update-grub']));
    ok(r);
    expect(r.stdout).toContain('Copying and configuring kernels on /dev/disk/by-uuid/5C2E-1A7B\n\tCopying kernel 6.8.12-9-pve\n');
    reboot(h);
    expect(cat(h, '/proc/cmdline')).toContain('boot=zfs quiet iommu=pt\n');
  });
});

describe('vfio binding at boot follows the initramfs snapshot', () => {
  const VFIO_CONF = `${HEADER}options vfio-pci ids=10de:2484,10de:228b\nsoftdep nouveau pre: vfio-pci\nsoftdep snd_hda_intel pre: vfio-pci\n`;

  it('skipping update-initramfs leaves the GPU on its host driver', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, MODPROBE, VFIO_CONF);
    reboot(h);
    expect(h.driverOf(GPU)).toBe('nouveau');
    expect(sh(h, q(['lspci', '-nnk', '-D'])).stdout).toContain('[10de:2484] (rev a1)\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:87b8]\n\tKernel driver in use: nouveau\n');
  });

  it('with update-initramfs, ids + softdep bind both functions to vfio-pci and load the vfio modules', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, MODPROBE, VFIO_CONF);
    writeFile(h, MODLOAD, `${HEADER}vfio\nvfio_iommu_type1\nvfio_pci\n`);
    expect(cat(h, '/proc/modules')).not.toContain('vfio');
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect([h.driverOf(GPU), h.driverOf(GPU_AUDIO)]).toEqual(['vfio-pci', 'vfio-pci']);
    expect(h.driverOf('0000:00:1f.3')).toBe('snd_hda_intel'); // same driver, other id: untouched
    expect(sh(h, q(['lspci', '-nnk', '-D'])).stdout).toContain('[10de:2484] (rev a1)\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:87b8]\n\tKernel driver in use: vfio-pci\n');
    expect(sh(h, q(['readlink', '-f', `/sys/bus/pci/devices/${GPU}/driver`])).stdout).toBe('/sys/bus/pci/drivers/vfio-pci\n');
    expect(cat(h, '/proc/modules')).toMatch(/^vfio_pci \d+ 0 - Live 0x0+$/m);
    const dmesg = sh(h, q(['dmesg'])).stdout;
    expect(dmesg).toContain('vfio_pci: add [10de:2484[ffffffff:ffffffff]] class 0x000000/00000000');
    expect(sh(h, q(['systemctl', 'is-system-running'])).stdout).toBe('running\n');
  });

  it('ids= without a softdep loses the race: the host driver wins', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, MODPROBE, `${HEADER}options vfio-pci ids=10de:2484,10de:228b\n`);
    writeFile(h, MODLOAD, `${HEADER}vfio\nvfio_iommu_type1\nvfio_pci\n`);
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect([h.driverOf(GPU), h.driverOf(GPU_AUDIO)]).toEqual(['nouveau', 'snd_hda_intel']);
  });

  it('blacklisting the host driver with ids= also hands the device to vfio-pci', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, MODPROBE, `${HEADER}options vfio-pci ids=10de:2484\nblacklist nouveau\n`);
    writeFile(h, MODLOAD, `${HEADER}vfio\nvfio_iommu_type1\nvfio_pci\n`);
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect(h.driverOf(GPU)).toBe('vfio-pci');
  });

  it('identical NICs: ids= takes the management port too and the host is cut off', () => {
    const h = newHost('twin-nics');
    writeFile(h, MODPROBE, `${HEADER}options vfio-pci ids=8086:1572\nsoftdep i40e pre: vfio-pci\n`);
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    sh(h, q(['systemctl', 'reboot']));
    h.completeReboot();
    expect(h.phase).toBe('cut-off');
    expect(h.incidents.join('\n')).toContain('0000:05:00.0 (management network (default route on vmbr0) via enp5s0f0np0) came up on vfio-pci instead of i40e');
  });

  it('identical NICs: an install hook on the driver that also has a softdep never runs (kmod ignorecmd): both ports stay on i40e', () => {
    const h = newHost('twin-nics');
    const hook = 'install i40e echo vfio-pci > /sys/bus/pci/devices/0000:05:00.1/driver_override; modprobe -i i40e $CMDLINE_OPTS';
    writeFile(h, MODPROBE, `${HEADER}softdep i40e pre: vfio-pci\n${hook}\n`);
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect([h.driverOf('0000:05:00.0'), h.driverOf('0000:05:00.1')]).toEqual(['i40e', 'i40e']);
  });

  it('identical NICs: the install hook on vfio-pci, pulled in by the softdep, binds only the target', () => {
    const h = newHost('twin-nics');
    const hook = 'install vfio-pci echo vfio-pci > /sys/bus/pci/devices/0000:05:00.1/driver_override; modprobe -i vfio-pci $CMDLINE_OPTS';
    writeFile(h, MODPROBE, `${HEADER}softdep i40e pre: vfio-pci\n${hook}\n`);
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect(h.phase).toBe('up');
    expect([h.driverOf('0000:05:00.0'), h.driverOf('0000:05:00.1')]).toEqual(['i40e', 'vfio-pci']);
    expect(sh(h, q(['grep', '-H', '.', '/sys/bus/pci/devices/0000:05:00.1/driver_override'])).stdout).toBe('/sys/bus/pci/devices/0000:05:00.1/driver_override:vfio-pci\n');
    expect(sh(h, `readlink -f /sys/class/net/*`).stdout).not.toContain('enp5s0f1np1');
  });

  it('identical NICs with i40e built into the kernel: the built-in driver takes both ports at kernel start', () => {
    const h = newHost('twin-nics');
    writeFile(h, `/lib/modules/${h.profile.kernel.installed.at(-1)}/modules.builtin`, 'kernel/drivers/net/ethernet/intel/i40e/i40e.ko\n');
    const hook = 'install vfio-pci echo vfio-pci > /sys/bus/pci/devices/0000:05:00.1/driver_override; modprobe -i vfio-pci $CMDLINE_OPTS';
    writeFile(h, MODPROBE, `${HEADER}softdep i40e pre: vfio-pci\n${hook}\n`);
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect([h.driverOf('0000:05:00.0'), h.driverOf('0000:05:00.1')]).toEqual(['i40e', 'i40e']);
  });
});

describe('IOMMU and modules per kernel', () => {
  it('vfio_virqfd on a >= 6.2 kernel fails systemd-modules-load', () => {
    const h = newHost('pve9-intel-grub-lvm');
    writeFile(h, MODLOAD, `${HEADER}vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n`);
    reboot(h);
    expect(sh(h, q(['systemctl', '--failed', '--plain', '--no-legend'])).stdout).toBe('systemd-modules-load.service loaded failed failed Load Kernel Modules\n');
    expect(sh(h, q(['systemctl', 'is-system-running']))).toMatchObject({ code: 1, stdout: 'degraded\n' });
    expect(cat(h, '/proc/modules')).toContain('vfio_pci ');
  });

  it('vfio_virqfd on 5.15 loads fine', () => {
    const h = newHost('pve7-5.15');
    writeFile(h, '/etc/modules', 'vfio\nvfio_iommu_type1\nvfio_pci\nvfio_virqfd\n');
    reboot(h);
    expect(sh(h, q(['systemctl', '--failed', '--plain', '--no-legend'])).stdout).toBe('');
    expect(cat(h, '/proc/modules')).toMatch(/^vfio_virqfd /m);
  });

  it('Intel on 6.5 needs intel_iommu=on; then DMAR units and groups appear', () => {
    const h = newHost('pve81-intel-6.5');
    expect(sh(h, `printf '%s\\n' /sys/class/iommu/* /sys/kernel/iommu_groups/*/devices/*`).stdout).toBe('/sys/class/iommu/*\n/sys/kernel/iommu_groups/*/devices/*\n');
    expect(sh(h, q(['test', '-e', '/sys/firmware/acpi/tables/DMAR'])).code).toBe(0);
    writeFile(h, DROPIN, `${HEADER}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on"\n`);
    ok(sh(h, q(['update-grub'])));
    reboot(h);
    expect(sh(h, `printf '%s\\n' /sys/class/iommu/*`).stdout).toBe('/sys/class/iommu/dmar0\n/sys/class/iommu/dmar1\n');
    expect(sh(h, q(['dmesg'])).stdout).toContain('DMAR: IOMMU enabled');
    expect(sh(h, q(['readlink', '-f', '/sys/bus/pci/devices/0000:01:00.0/iommu_group'])).stdout).toBe('/sys/kernel/iommu_groups/1\n');
  });

  it('Intel on 6.8+ has the IOMMU on by default without "DMAR: IOMMU enabled"', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const dmesg = sh(h, q(['dmesg'])).stdout;
    expect(dmesg).not.toContain('DMAR: IOMMU enabled');
    expect(dmesg).toContain('DMAR: Intel(R) Virtualization Technology for Directed I/O');
  });

  it('firmware IOMMU off: no ACPI table, no groups whatever the cmdline, and vfio-pci cannot probe', () => {
    const h = newHost('firmware-iommu-off');
    writeFile(h, DROPIN, `${HEADER}GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on"\n`);
    writeFile(h, MODPROBE, `${HEADER}options vfio-pci ids=10de:2484\nsoftdep nouveau pre: vfio-pci\n`);
    ok(sh(h, q(['update-grub'])));
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect(sh(h, q(['test', '-e', '/sys/firmware/acpi/tables/DMAR'])).code).toBe(1);
    expect(sh(h, `printf '%s\\n' /sys/class/iommu/*`).stdout).toBe('/sys/class/iommu/*\n');
    expect(h.driverOf(GPU)).toBeNull();
    expect(sh(h, q(['dmesg'])).stdout).toContain(`vfio-pci: probe of ${GPU} failed with error -22`);
  });
});
