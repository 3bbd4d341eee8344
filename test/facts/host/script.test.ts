import { describe, expect, it } from 'vitest';
import { factsSections, OWNED_FILE_PATHS, READ_FILES } from '../../../src/facts/host/script.js';
import { batch, render } from '../../../src/transport/shell.js';

const byKey = new Map(factsSections().map((s) => [s.key, render(s.cmd)]));

describe('factsSections', () => {
  it('has the keys of docs/architecture.md, in order', () => {
    expect([...byKey.keys()]).toEqual([
      'hostname', 'uname', 'pveversion', 'debian', 'cpu', 'efi', 'pbt-status', 'kernels',
      'file:/etc/default/grub', 'file:/etc/kernel/cmdline', 'file:/etc/modules', 'file:/etc/kernel/proxmox-boot-uuids',
      'file:/etc/pve/corosync.conf', 'file:/etc/kernel/proxmox-boot-pin', 'file:/etc/kernel/next-boot-pin', 'file:/var/lib/pve-passthrough/refresh-pending', 'file:/var/lib/pve-passthrough/ha-maintenance',
      'file:/etc/default/grub.d/pve-passthrough.cfg', 'file:/etc/modules-load.d/pve-passthrough.conf', 'file:/etc/modprobe.d/pve-passthrough.conf',
      'dir:/etc/default/grub.d', 'dir:/etc/modprobe.d', 'dir:/run/modprobe.d', 'dir:/usr/local/lib/modprobe.d', 'dir:/usr/lib/modprobe.d', 'dir:/lib/modprobe.d',
      'dir:/etc/modules-load.d', 'dir:/run/modules-load.d', 'dir:/usr/local/lib/modules-load.d', 'dir:/usr/lib/modules-load.d', 'dir:/lib/modules-load.d',
      'modules-conf-link', 'stat', 'proc-cmdline', 'boot-id', 'iommu-class', 'acpi-dmar', 'acpi-ivrs', 'iommu-groups', 'lspci', 'pci-sysfs',
      'modules', 'modules-builtin', 'vfio-disable-vga', 'dmesg', 'failed-units', 'net-links', 'bridge-ports', 'bond-slaves', 'ip-addr', 'ip-route', 'lsblk', 'block-links',
      'iomem', 'pci-resource',
    ]);
  });

  it.each([
    ['hostname', "'hostname'"],
    ['cpu', "'grep' '-m' '1' '^vendor_id' '/proc/cpuinfo'"],
    ['efi', "'test' '-d' '/sys/firmware/efi'"],
    ['kernels', "'printf' '%s\\n' /boot/vmlinuz-*"],
    ['dir:/etc/modprobe.d', "'grep' '-r' '-H' '' '/etc/modprobe.d'"],
    ['iommu-groups', "'printf' '%s\\n' /sys/kernel/iommu_groups/*/devices/*"],
    ['pci-sysfs', "'grep' '-H' '.' /sys/bus/pci/devices/*/boot_vga /sys/bus/pci/devices/*/driver_override"],
    ['net-links', "'readlink' '-f' /sys/class/net/*"],
    ['bond-slaves', "'grep' '-H' '.' /sys/class/net/*/bonding/slaves"],
    ['modules-conf-link', "'readlink' '-f' '/etc/modules-load.d/modules.conf'"],
    ['lsblk', "'lsblk' '-n' '-P' '-o' 'NAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT'"],
    ['block-links', "'readlink' '-f' /sys/block/*"],
    ['iomem', "'cat' '/proc/iomem'"],
    ['vfio-disable-vga', "'cat' '/sys/module/vfio_pci/parameters/disable_vga'"],
    ['pci-resource', "'grep' '-H' '.' /sys/bus/pci/devices/*/resource"],
  ])('renders %s in the dialect', (key, expected) => {
    expect(byKey.get(key)).toBe(expected);
  });

  it('stats every file read, the dir globs unquoted and nothing else unquoted', () => {
    const stat = byKey.get('stat') ?? '';
    expect(stat.startsWith("'stat' '-c' '%n %a %u %g' ")).toBe(true);
    for (const f of READ_FILES) expect(stat).toContain(`'${f}'`);
    expect(stat.endsWith(' /etc/default/grub.d/* /etc/modprobe.d/* /run/modprobe.d/* /usr/local/lib/modprobe.d/* /usr/lib/modprobe.d/* /lib/modprobe.d/*'
      + ' /etc/modules-load.d/* /run/modules-load.d/* /usr/local/lib/modules-load.d/* /usr/lib/modules-load.d/* /lib/modules-load.d/*')).toBe(true);
  });

  it('reads the three owned files', () => {
    expect(OWNED_FILE_PATHS).toEqual(['/etc/default/grub.d/pve-passthrough.cfg', '/etc/modules-load.d/pve-passthrough.conf', '/etc/modprobe.d/pve-passthrough.conf']);
    for (const p of OWNED_FILE_PATHS) expect(byKey.has(`file:${p}`)).toBe(true);
  });

  it('batches into one script with every key marked', () => {
    const script = batch(factsSections({ connectedAddress: '10.0.0.1' }), '0123456789abcdef');
    for (const key of byKey.keys()) expect(script).toContain(`'@@0123456789abcdef %s\\n' '${key}'`);
    expect(script).not.toContain('10.0.0.1');
  });
});
