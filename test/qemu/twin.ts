/**
 * Binding by address on a real kernel: a guest with two identical e1000e NICs (00:03.0 and its
 * twin 00:05.0, same 8086:10d3). Only 00:03.0 is declared (bind "auto": the twin makes it bind by
 * address). After the tool's apply and reboot, the declared NIC is on vfio-pci and the twin still
 * on e1000e, in the guest's own sysfs, and verify exits 0. The `initramfs` variant first puts
 * e1000e into the initramfs (listed in /etc/initramfs-tools/modules, so udev loads it there,
 * before the root fs and its modules-load.d), the case where the host driver wins any race that
 * the root fs's configuration could decide. Phase times go to .cache/qemu/run-<name>/timings.*.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { E1000E_ADDRESS, TWIN_ADDRESS } from './inventory.js';
import { guestSession, MIN } from './session.js';

export interface TwinVariant {
  readonly name: string;
  /** Put the host driver into the initramfs before the tool runs. */
  readonly driverInInitramfs: boolean;
}

interface PlanJson {
  clusters: { nodes: { refused: unknown[]; steps: { kind: string; path?: string; content?: string }[] }[] }[];
}

export function twinFlow(v: TwinVariant): void {
  const g = guestSession(v.name);

  describe(`binding by address on a real kernel: ${v.name} (two identical e1000e, one declared)`, () => {
    beforeAll(async () => {
      await g.boot({ firmware: 'bios', buildScripts: ['build-image.sh'], extras: ['twin'], devices: [{ address: E1000E_ADDRESS }] });
      const t = Date.now();
      await g.guest('update-grub 2>&1', 15 * MIN);
      if (v.driverInInitramfs) {
        await g.guest('echo e1000e >> /etc/initramfs-tools/modules && update-initramfs -u -k all 2>&1', 30 * MIN);
      }
      g.record(v.driverInInitramfs ? 'normalise (update-grub; e1000e into the initramfs)' : 'normalise (update-grub)', Date.now() - t);
    }, 90 * MIN);

    afterAll(() => g.finish());

    it('starts with both NICs on e1000e; the plan binds the declared one by address (no ids=)', async () => {
      expect([await g.driverOf(E1000E_ADDRESS), await g.driverOf(TWIN_ADDRESS)]).toEqual(['e1000e', 'e1000e']);
      if (v.driverInInitramfs) expect(await g.guest('lsinitramfs /boot/initrd.img-$(uname -r) | grep -c "/e1000e.ko"')).not.toMatch(/^0/);
      const plan = await g.cli('plan (before)', ['plan', '--json', '--detailed-exitcode'], 5 * MIN);
      expect(plan.code, plan.stderr).toBe(2);
      const node = (JSON.parse(plan.stdout) as PlanJson).clusters[0]?.nodes[0];
      expect(node?.refused).toEqual([]);
    }, 15 * MIN);

    it('apply writes the hook on vfio-pci, rebuilds the initramfs, reboots and verifies', async () => {
      const apply = await g.cli('apply (write, initramfs, boot-loader refresh, reboot, verify)', ['apply', '--yes'], 60 * MIN);
      expect(apply.code, apply.stdout + apply.stderr).toBe(0);
      const conf = await g.guest('cat /etc/modprobe.d/pve-passthrough.conf');
      expect(conf).toMatch(/^softdep e1000e pre: vfio-pci$/m);
      expect(conf).toMatch(new RegExp(`^install vfio-pci echo vfio-pci > /sys/bus/pci/devices/${E1000E_ADDRESS}/driver_override; modprobe -i vfio-pci \\$CMDLINE_OPTS$`, 'm'));
      expect(conf).not.toMatch(/ids=/);
    }, 61 * MIN);

    it('after the reboot the declared NIC is on vfio-pci and its twin still on e1000e; verify exits 0', async () => {
      expect(await g.driverOf(E1000E_ADDRESS)).toBe('vfio-pci');
      expect(await g.driverOf(TWIN_ADDRESS)).toBe('e1000e');
      expect((await g.guest(`cat /sys/bus/pci/devices/${E1000E_ADDRESS}/driver_override`)).trim()).toBe('vfio-pci');
      expect((await g.guest(`cat /sys/bus/pci/devices/${TWIN_ADDRESS}/driver_override`)).trim()).toBe('(null)');
      const verify = await g.cli('verify (after apply)', ['verify'], 5 * MIN);
      expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    }, 10 * MIN);
  });
}
