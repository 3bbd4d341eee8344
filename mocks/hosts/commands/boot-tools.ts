/**
 * The commands that change what boots next: update-grub, proxmox-boot-tool
 * (status | refresh | kernel list) and update-initramfs -u -k all. Each one
 * snapshots the config files into the host's INSTALLED state, with the rules
 * of pve-docs system-booting.adoc and proxmox-kernel-helper (bin/proxmox-boot-tool,
 * the zz-proxmox-boot hooks): update-grub on a proxmox-boot-tool host
 * hands over to `proxmox-boot-tool refresh`; refresh on systemd-boot needs
 * root= in the first line of /etc/kernel/cmdline; update-initramfs triggers
 * the ESP sync.
 */
import { DialectError } from '../dialect.js';
import { compareKernels } from '../kernel.js';
import type { SimHost } from '../host.js';
import type { CmdContext, Handler } from '../interpreter.js';
import { evalGrubFiles, grubKernelArgs } from '../grub-config.js';
import type { InitramfsSnapshot } from '../boot.js';

function form(name: string, args: readonly string[]): DialectError {
  return new DialectError(`form: ${[name, ...args].join(' ').slice(0, 120)}`);
}

function same(args: readonly string[], expected: readonly string[]): boolean {
  return args.length === expected.length && args.every((a, i) => a === expected[i]);
}

export function bootToolCommands(host: SimHost): Map<string, Handler> {
  const m = new Map<string, Handler>();

  /** The ESP sync every path ends in (refresh, update-grub on PBT, the initramfs hook). */
  const syncEsps = (ctx: CmdContext, initramfs: InitramfsSnapshot): number => {
    ctx.out("Re-executing '/etc/kernel/postinst.d/zz-proxmox-boot' in new private mount namespace..\n");
    if (!host.usesProxmoxBootTool) {
      ctx.out('No /etc/kernel/proxmox-boot-uuids found, skipping ESP sync.\n');
      return 0;
    }
    const snap = host.espSnapshot(initramfs);
    if (typeof snap === 'string' || snap === null) {
      ctx.err(`${snap ?? 'ESP sync failed'}\n`);
      return 1;
    }
    const uuids = (host.vfs.readOr('/etc/kernel/proxmox-boot-uuids') ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
    for (const u of uuids) {
      ctx.out(`Copying and configuring kernels on /dev/disk/by-uuid/${u}\n`);
      for (const k of [...snap.kernels].sort(compareKernels)) {
        ctx.out(snap.kind === 'uefi' ? `\tCopying kernel and creating boot-entry for ${k}\n` : `\tCopying kernel ${k}\n`);
      }
      if (snap.kind === 'grub') ctx.err('Generating grub configuration file ...\ndone\n');
    }
    host.installed.esp = snap;
    return 0;
  };

  const refresh = (ctx: CmdContext): number => {
    const fault = host.takeCommandFault('proxmox-boot-tool refresh');
    if (fault !== null) {
      ctx.err(`${fault}\n`);
      return 1;
    }
    ctx.out("Running hook script 'proxmox-auto-removal'..\nRunning hook script 'zz-proxmox-boot'..\n");
    return syncEsps(ctx, host.installed.initramfs);
  };

  m.set('proxmox-boot-tool', (args, ctx) => {
    if (!host.isPve) return ctx.notFound();
    if (same(args, ['status'])) {
      if (!host.usesProxmoxBootTool) {
        ctx.err('E: /etc/kernel/proxmox-boot-uuids does not exist.\n');
        return 2;
      }
      ctx.out("Re-executing '/usr/sbin/proxmox-boot-tool' in new private mount namespace..\n");
      ctx.out(`System currently booted with ${host.profile.firmware.efi ? 'uefi' : 'legacy bios'}\n`);
      const esp = host.installed.esp;
      const versions = [...(esp?.kernels ?? [])].sort(compareKernels).join(', ');
      for (const u of (host.vfs.readOr('/etc/kernel/proxmox-boot-uuids') ?? '').split('\n').map((l) => l.trim()).filter(Boolean)) {
        ctx.out(`${u} is configured with: ${esp?.kind === 'uefi' ? 'uefi' : 'grub'} (versions: ${versions})\n`);
      }
      return 0;
    }
    if (same(args, ['refresh'])) {
      if (ctx.uid !== 0) {
        ctx.err('E: proxmox-boot-tool must be run as root\n');
        return 1;
      }
      return refresh(ctx);
    }
    if (same(args, ['kernel', 'list'])) {
      const pin = host.vfs.readOr('/etc/kernel/proxmox-boot-pin')?.trim();
      const next = host.vfs.readOr('/etc/kernel/next-boot-pin')?.trim();
      ctx.out('Manually selected kernels:\nNone.\n\nAutomatically selected kernels:\n');
      ctx.out([...host.profile.kernel.installed].sort(compareKernels).map((k) => `${k}\n`).join(''));
      if (pin) ctx.out(`\nPinned kernel:\n${pin}\n`);
      if (next) ctx.out(`\nPinned kernel for next boot:\n${next}\n`);
      return 0;
    }
    throw form('proxmox-boot-tool', args);
  });

  m.set('update-grub', (args, ctx) => {
    if (args.length > 0) throw form('update-grub', args);
    if (ctx.uid !== 0) {
      ctx.err('/usr/sbin/grub-mkconfig: You must run this as root\n');
      return 1;
    }
    const fault = host.takeCommandFault('update-grub');
    if (fault !== null) {
      ctx.err(`${fault}\n`);
      return 1;
    }
    if (host.isPve && host.usesProxmoxBootTool) {
      ctx.err("W: This system is booted via proxmox-boot-tool:\nW: Executing 'update-grub' directly does not update the correct configs!\nW: Running: 'proxmox-boot-tool refresh'\n\n");
      return refresh(ctx);
    }
    const grub = evalGrubFiles(host.grubFiles());
    ctx.err('Generating grub configuration file ...\n');
    if (!grub.ok) {
      ctx.err(`${grub.error}\n`);
      return 1;
    }
    for (const k of [...host.profile.kernel.installed].sort(compareKernels).reverse()) {
      ctx.err(`Found linux image: /boot/vmlinuz-${k}\nFound initrd image: /boot/initrd.img-${k}\n`);
    }
    ctx.err('done\n');
    host.installed.grubArgs = grubKernelArgs(grub.vars);
    host.writeGrubCfg(host.installed.grubArgs);
    return 0;
  });

  m.set('update-initramfs', (args, ctx) => {
    if (!same(args, ['-u', '-k', 'all'])) throw form('update-initramfs', args);
    if (ctx.uid !== 0) {
      ctx.err('update-initramfs: must be run as root\n');
      return 1;
    }
    const fault = host.takeCommandFault('update-initramfs');
    if (fault !== null) {
      ctx.err(`${fault}\n`);
      return 1;
    }
    const snap = host.snapshotInitramfs();
    for (const k of [...host.profile.kernel.installed].sort(compareKernels).reverse()) {
      ctx.out(`update-initramfs: Generating /boot/initrd.img-${k}\n`);
    }
    host.installed.initramfs = snap;
    // proxmox-kernel-helper's post-update hook (PVE only) syncs the ESPs.
    if (!host.isPve) return 0;
    ctx.out("Running hook script 'zz-proxmox-boot'..\n");
    return syncEsps(ctx, snap);
  });

  return m;
}
