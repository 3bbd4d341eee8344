/**
 * The simulated host's /sys/module/vfio_pci/parameters/disable_vga: the value vfio-pci got
 * when it loaded, fixed until it loads again (drivers/vfio/pci/vfio_pci.c:
 * module_param(disable_vga, bool, S_IRUGO), read-only; kernel/params.c prints a bool as Y/N).
 * At boot it comes from the booting initramfs's modprobe.d plus the command line, read with
 * kmod's rules (the order is checked against real kmod in kmod-parity.test.ts); a live
 * `modprobe vfio-pci` reads the live /etc/modprobe.d.
 */
import { describe, expect, it } from 'vitest';
import { cat, newHost, q, reboot, sh } from './helpers.js';

const PARAM = '/sys/module/vfio_pci/parameters/disable_vga';
const LOAD_VFIO = 'vfio\nvfio_iommu_type1\nvfio_pci\n';
const ok = (r: { code: number | null }): void => expect(r.code).toBe(0);
const param = (h: ReturnType<typeof newHost>) => sh(h, q(['cat', PARAM]));

function bootWith(files: Record<string, string>, grubTokens = ''): ReturnType<typeof newHost> {
  const h = newHost('pve9-intel-grub-lvm');
  for (const [path, content] of Object.entries(files)) h.drift.writeFile(path, content);
  if (grubTokens) h.drift.writeFile('/etc/default/grub.d/10-test.cfg', `GRUB_CMDLINE_LINUX_DEFAULT="$GRUB_CMDLINE_LINUX_DEFAULT ${grubTokens}"\n`);
  ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
  ok(sh(h, q(['update-grub'])));
  reboot(h);
  return h;
}

describe('disable_vga as vfio-pci runs with it', () => {
  it('absent while vfio-pci is not loaded (cat says so, exit 1)', () => {
    const h = newHost('pve9-intel-grub-lvm');
    expect(cat(h, '/proc/modules')).not.toMatch(/^vfio_pci /m);
    expect(param(h)).toMatchObject({ code: 1, stdout: '', stderr: `cat: ${PARAM}: No such file or directory\n` });
  });

  it('Y after a boot that loads vfio-pci with options vfio-pci disable_vga=1; N without it', () => {
    expect(cat(bootWith({ '/etc/modules': LOAD_VFIO, '/etc/modprobe.d/vfio.conf': 'options vfio-pci disable_vga=1\n' }), PARAM)).toBe('Y\n');
    expect(cat(bootWith({ '/etc/modules': LOAD_VFIO }), PARAM)).toBe('N\n');
  });

  it('options accumulate across files in name order: the last disable_vga wins', () => {
    expect(cat(bootWith({ '/etc/modules': LOAD_VFIO, '/etc/modprobe.d/a.conf': 'options vfio_pci disable_vga=1\n', '/etc/modprobe.d/b.conf': 'options vfio-pci ids=10de:2484 disable_vga=0\n' }), PARAM)).toBe('N\n');
    expect(cat(bootWith({ '/etc/modules': LOAD_VFIO, '/etc/modprobe.d/a.conf': 'options vfio_pci disable_vga=0 disable_vga=on\n' }), PARAM)).toBe('Y\n');
  });

  it('the command line comes after modprobe.d (kmod appends it), so vfio_pci.disable_vga= there wins', () => {
    expect(cat(bootWith({ '/etc/modules': LOAD_VFIO, '/etc/modprobe.d/vfio.conf': 'options vfio-pci disable_vga=0\n' }, 'vfio_pci.disable_vga=1'), PARAM)).toBe('Y\n');
    expect(cat(bootWith({ '/etc/modules': LOAD_VFIO, '/etc/modprobe.d/vfio.conf': 'options vfio-pci disable_vga=1\n' }, 'vfio-pci.disable_vga=N'), PARAM)).toBe('N\n');
  });

  it('loaded by hand before the option was written: N stays N until vfio-pci loads again (the next boot)', () => {
    const h = newHost('pve9-intel-grub-lvm');
    ok(sh(h, q(['modprobe', 'vfio-pci'])));
    expect(cat(h, PARAM)).toBe('N\n');
    h.drift.writeFile('/etc/modprobe.d/vfio.conf', 'options vfio-pci disable_vga=1\n');
    h.drift.writeFile('/etc/modules', LOAD_VFIO);
    ok(sh(h, q(['modprobe', 'vfio-pci'])));
    expect(cat(h, PARAM)).toBe('N\n');
    ok(sh(h, q(['update-initramfs', '-u', '-k', 'all'])));
    reboot(h);
    expect(cat(h, PARAM)).toBe('Y\n');
  });

  it('a live modprobe vfio-pci reads the live /etc/modprobe.d', () => {
    const h = newHost('pve9-intel-grub-lvm');
    h.drift.writeFile('/etc/modprobe.d/vfio.conf', 'options vfio-pci disable_vga=1\n');
    ok(sh(h, q(['modprobe', 'vfio-pci'])));
    expect(cat(h, PARAM)).toBe('Y\n');
  });
});
