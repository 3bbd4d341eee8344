import { describe, expect, it } from 'vitest';
import { cmd, render } from '../../../src/transport/shell.js';
import { cat, newHost, q, reboot, sh } from './helpers.js';

const GPU = '0000:01:00.0';
const NIC = '0000:03:00.0';
const writeSys = (value: string, path: string): string => render(cmd(['printf', '%s', value], { stdoutTo: path }));

describe('live sysfs writes (runtime binding)', () => {
  it('driver_override + unbind + drivers_probe moves a device to vfio-pci until the next boot', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, q(['test', '-d', '/sys/bus/pci/drivers/vfio-pci'])).code).toBe(1);
    expect(sh(h, q(['modprobe', 'vfio-pci'])).code).toBe(0);
    expect(sh(h, q(['test', '-d', '/sys/bus/pci/drivers/vfio-pci'])).code).toBe(0);
    expect(cat(h, '/proc/modules')).toMatch(/^vfio_pci /m);
    const r = sh(h, [
      writeSys('vfio-pci', `/sys/bus/pci/devices/${GPU}/driver_override`),
      writeSys(GPU, `/sys/bus/pci/devices/${GPU}/driver/unbind`),
      writeSys(GPU, '/sys/bus/pci/drivers_probe'),
    ].join(' && '));
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(h.driverOf(GPU)).toBe('vfio-pci');
    expect(cat(h, `/sys/bus/pci/devices/${GPU}/driver_override`)).toBe('vfio-pci\n');
    expect(sh(h, q(['readlink', '-f', `/sys/bus/pci/devices/${GPU}/driver`])).stdout).toBe('/sys/bus/pci/drivers/vfio-pci\n');
    reboot(h);
    expect(h.driverOf(GPU)).toBe('nouveau');
    expect(cat(h, `/sys/bus/pci/devices/${GPU}/driver_override`)).toBe('(null)\n');
  });

  it('binding through drivers/vfio-pci/bind needs the module, an unbound device and an override', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, writeSys(GPU, '/sys/bus/pci/drivers/vfio-pci/bind'))).toMatchObject({ code: 2, stderr: 'sh: 1: cannot create /sys/bus/pci/drivers/vfio-pci/bind: Directory nonexistent\n' });
    sh(h, q(['modprobe', 'vfio-pci']));
    expect(sh(h, writeSys(GPU, '/sys/bus/pci/drivers/vfio-pci/bind'))).toMatchObject({ code: 1, stderr: 'sh: 1: printf: write error: Device or resource busy\n' });
    sh(h, writeSys(GPU, `/sys/bus/pci/devices/${GPU}/driver/unbind`));
    expect(h.driverOf(GPU)).toBeNull();
    expect(sh(h, writeSys(GPU, `/sys/bus/pci/devices/${GPU}/driver/unbind`))).toMatchObject({ code: 2, stderr: `sh: 1: cannot create /sys/bus/pci/devices/${GPU}/driver/unbind: Directory nonexistent\n` });
    expect(sh(h, writeSys(GPU, '/sys/bus/pci/drivers/vfio-pci/bind'))).toMatchObject({ code: 1, stderr: 'sh: 1: printf: write error: No such device\n' });
    sh(h, writeSys('vfio-pci', `/sys/bus/pci/devices/${GPU}/driver_override`));
    expect(sh(h, writeSys(GPU, '/sys/bus/pci/drivers/vfio-pci/bind')).code).toBe(0);
    expect(h.driverOf(GPU)).toBe('vfio-pci');
  });

  it('refuses to unbind the management NIC (the host would be cut off) and logs it', () => {
    const h = newHost('pve9-intel-grub-lvm');
    const r = sh(h, writeSys(NIC, `/sys/bus/pci/devices/${NIC}/driver/unbind`));
    expect(r).toMatchObject({ code: 1, stderr: 'sh: 1: printf: write error: Device or resource busy\n' });
    expect(h.driverOf(NIC)).toBe('igb');
    expect(h.incidents).toEqual([`refused unbind of ${NIC} from igb: the host needs it (management network (default route on vmbr0) via enp3s0); a real host would be cut off`]);
    expect(sh(h, q(['dmesg'])).stdout).toContain(`pve-sim: refused unbind of ${NIC}`);
  });

  it('refuses to unbind the root disk controller', () => {
    const h = newHost('pve9-amd-sdboot-zfs');
    expect(sh(h, writeSys('0000:03:00.0', '/sys/bus/pci/devices/0000:03:00.0/driver/unbind')).code).toBe(1);
    expect(h.incidents[0]).toContain('storage (nvme1n1p2 vfat on nvme1n1)');
  });

  it('read-only attributes and /proc cannot be written', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(sh(h, writeSys('0x1234', `/sys/bus/pci/devices/${GPU}/vendor`)).stderr).toBe(`sh: 1: cannot create /sys/bus/pci/devices/${GPU}/vendor: Permission denied\n`);
    expect(sh(h, writeSys('x', '/proc/cmdline')).stderr).toBe('sh: 1: cannot create /proc/cmdline: Permission denied\n');
    expect(sh(h, writeSys('x', `/sys/bus/pci/devices/${GPU}/new_id`)).code).toBe(2);
  });
});

describe('drift helpers', () => {
  it('remove a file, set /proc/cmdline, rebind a driver', () => {
    const h = newHost('pve9-intel-grub-lvm');
    h.drift.removeFile('/etc/default/grub');
    expect(sh(h, q(['cat', '/etc/default/grub'])).code).toBe(1);
    h.drift.setProcCmdline('BOOT_IMAGE=/boot/vmlinuz-6.17.2-1-pve root=/dev/mapper/pve-root ro quiet intel_iommu=on');
    expect(cat(h, '/proc/cmdline')).toContain('intel_iommu=on');
    h.drift.rebindDriver(GPU, 'vfio-pci');
    expect(sh(h, q(['lspci', '-nnk', '-D'])).stdout).toContain('[10de:2484] (rev a1)\n\tSubsystem: ASUSTeK Computer Inc. Device [1043:87b8]\n\tKernel driver in use: vfio-pci\n');
    expect(() => h.drift.rebindDriver('0000:09:09.9', null)).toThrow('no PCI device');
  });
});
