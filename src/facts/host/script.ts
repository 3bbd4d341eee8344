/**
 * The batched read script: every section listed in docs/architecture.md
 * "Batched reads", in that order, with those keys. One exec per host.
 * Globs are raw words written here, never taken from input.
 */
import { cmd, type Cmd, type Section } from '../../transport/shell.js';
import { HOSTNAME_CMD } from './hostname.js';
import { MODPROBE_DIRS } from './modprobe-d.js';
import { MODULES_CONF_LINK, MODULES_LOAD_DIRS } from './modules-load-d.js';
import { VFIO_DISABLE_VGA_PARAM } from './parse-vfio-disable-vga.js';

/** The three files the tool owns (docs/architecture.md "Files the tool owns"). */
export const OWNED_FILES = {
  grubDropIn: '/etc/default/grub.d/pve-passthrough.cfg',
  modulesLoad: '/etc/modules-load.d/pve-passthrough.conf',
  modprobe: '/etc/modprobe.d/pve-passthrough.conf',
} as const;

export const OWNED_FILE_PATHS: readonly string[] = Object.values(OWNED_FILES);

/**
 * Written by apply before a node's first file write and removed once its
 * refresh commands ran (one command per line): a run stopped in between leaves
 * it, and the next plan runs those refreshes again even though the files
 * already match.
 */
export const REFRESH_PENDING_FILE = '/var/lib/pve-passthrough/refresh-pending';

/** Written by apply before it puts the node in HA maintenance, removed once it ended it (operations/host/ha-maintenance.ts). */
export const HA_MAINTENANCE_FILE = '/var/lib/pve-passthrough/ha-maintenance';

/** Single files read with `cat` (section `file:<path>`), the owned ones last. */
export const READ_FILES: readonly string[] = [
  '/etc/default/grub',
  '/etc/kernel/cmdline',
  '/etc/modules',
  '/etc/kernel/proxmox-boot-uuids',
  '/etc/pve/corosync.conf',
  '/etc/kernel/proxmox-boot-pin',
  '/etc/kernel/next-boot-pin',
  REFRESH_PENDING_FILE,
  HA_MAINTENANCE_FILE,
  ...OWNED_FILE_PATHS,
];

/** Directories read with `grep -r -H ''` (section `dir:<dir>`): GRUB drop-ins and every directory kmod and systemd-modules-load read. */
export const READ_DIRS: readonly string[] = ['/etc/default/grub.d', ...MODPROBE_DIRS, ...MODULES_LOAD_DIRS];


/** Globs for the files inside READ_DIRS, so that `stat` also reports their mode and owner. */
export const READ_DIR_GLOBS: readonly string[] = READ_DIRS.map((d) => `${d}/*`);

/** printf '%s\n' <glob>: lists matching paths (the literal pattern when none match). */
function listGlob(pattern: string): Cmd {
  return cmd(['printf', '%s\\n', pattern], { raw: [2] });
}

function catFile(path: string): Cmd {
  return cmd(['cat', path]);
}

/**
 * `connectedAddress` does not change the commands (the address is matched
 * against `ip -o addr show` when assembling); it is accepted so callers pass
 * the same options to both halves.
 */
export function factsSections(_opts: { connectedAddress?: string } = {}): Section[] {
  const statArgs = [...READ_FILES, ...READ_DIR_GLOBS];
  const globStart = 3 + READ_FILES.length; // after 'stat' '-c' FORMAT and the files
  return [
    { key: 'hostname', cmd: HOSTNAME_CMD },
    { key: 'uname', cmd: cmd(['uname', '-r']) },
    { key: 'pveversion', cmd: cmd(['pveversion']) },
    { key: 'debian', cmd: catFile('/etc/debian_version') },
    { key: 'cpu', cmd: cmd(['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo']) },
    { key: 'efi', cmd: cmd(['test', '-d', '/sys/firmware/efi']) },
    { key: 'pbt-status', cmd: cmd(['proxmox-boot-tool', 'status']) },
    { key: 'kernels', cmd: listGlob('/boot/vmlinuz-*') },
    ...READ_FILES.map((path) => ({ key: `file:${path}`, cmd: catFile(path) })),
    ...READ_DIRS.map((dir) => ({ key: `dir:${dir}`, cmd: cmd(['grep', '-r', '-H', '', dir]) })),
    { key: 'modules-conf-link', cmd: cmd(['readlink', '-f', MODULES_CONF_LINK]) },
    {
      key: 'stat',
      cmd: cmd(['stat', '-c', '%n %a %u %g', ...statArgs], {
        raw: READ_DIR_GLOBS.map((_, i) => globStart + i),
      }),
    },
    { key: 'proc-cmdline', cmd: catFile('/proc/cmdline') },
    { key: 'boot-id', cmd: catFile('/proc/sys/kernel/random/boot_id') },
    { key: 'iommu-class', cmd: listGlob('/sys/class/iommu/*') },
    { key: 'acpi-dmar', cmd: cmd(['test', '-e', '/sys/firmware/acpi/tables/DMAR']) },
    { key: 'acpi-ivrs', cmd: cmd(['test', '-e', '/sys/firmware/acpi/tables/IVRS']) },
    { key: 'iommu-groups', cmd: listGlob('/sys/kernel/iommu_groups/*/devices/*') },
    { key: 'lspci', cmd: cmd(['lspci', '-nnk', '-D']) },
    {
      key: 'pci-sysfs',
      cmd: cmd(['grep', '-H', '.', '/sys/bus/pci/devices/*/boot_vga', '/sys/bus/pci/devices/*/driver_override'], { raw: [3, 4] }),
    },
    { key: 'modules', cmd: catFile('/proc/modules') },
    { key: 'modules-builtin', cmd: cmd(['grep', '-H', '.', '/lib/modules/*/modules.builtin'], { raw: [3] }) },
    { key: 'vfio-disable-vga', cmd: catFile(VFIO_DISABLE_VGA_PARAM) },
    { key: 'dmesg', cmd: cmd(['dmesg']) },
    { key: 'failed-units', cmd: cmd(['systemctl', '--failed', '--plain', '--no-legend']) },
    { key: 'net-links', cmd: cmd(['readlink', '-f', '/sys/class/net/*'], { raw: [2] }) },
    { key: 'bridge-ports', cmd: listGlob('/sys/class/net/*/brif/*') },
    { key: 'bond-slaves', cmd: cmd(['grep', '-H', '.', '/sys/class/net/*/bonding/slaves'], { raw: [3] }) },
    { key: 'ip-addr', cmd: cmd(['ip', '-o', 'addr', 'show']) },
    { key: 'ip-route', cmd: cmd(['ip', '-o', 'route', 'show', 'default']) },
    { key: 'lsblk', cmd: cmd(['lsblk', '-n', '-P', '-o', 'NAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT']) },
    { key: 'block-links', cmd: cmd(['readlink', '-f', '/sys/block/*'], { raw: [2] }) },
    { key: 'iomem', cmd: catFile('/proc/iomem') },
    { key: 'pci-resource', cmd: cmd(['grep', '-H', '.', '/sys/bus/pci/devices/*/resource'], { raw: [3] }) },
  ];
}

/** Every section key the script produces (assemble reports missing ones). */
export function factsSectionKeys(): string[] {
  return factsSections().map((s) => s.key);
}
