/**
 * Test helpers: build scripts the way the tool does (src/transport/shell.ts is
 * the contract the simulator must accept) and run them on a SimHost.
 */
import { all, atomicWrite, batch, cmd, glob, parseBatch, render } from '../../../src/transport/shell.js';
import type { Section } from '../../../src/transport/shell.js';
import { SimHost } from '../../../mocks/hosts/host.js';
import type { ExecOutcome, SimHostOptions } from '../../../mocks/hosts/host.js';

export const NONCE = '0123456789abcdef';

/** The facts batch of docs/architecture.md, section for section. */
export function factsSections(): Section[] {
  const files = ['/etc/default/grub', '/etc/kernel/cmdline', '/etc/modules', '/etc/kernel/proxmox-boot-uuids', '/etc/pve/corosync.conf', '/etc/kernel/proxmox-boot-pin', '/etc/kernel/next-boot-pin', '/etc/default/grub.d/pve-passthrough.cfg', '/etc/modules-load.d/pve-passthrough.conf', '/etc/modprobe.d/pve-passthrough.conf'];
  const g = (pattern: string, ...pre: string[]): Section['cmd'] => cmd([...pre, pattern], { raw: [pre.length] });
  return [
    { key: 'hostname', cmd: cmd(['hostname']) },
    { key: 'uname', cmd: cmd(['uname', '-r']) },
    { key: 'pveversion', cmd: cmd(['pveversion']) },
    { key: 'debian', cmd: cmd(['cat', '/etc/debian_version']) },
    { key: 'cpu', cmd: cmd(['grep', '-m', '1', '^vendor_id', '/proc/cpuinfo']) },
    { key: 'efi', cmd: cmd(['test', '-d', '/sys/firmware/efi']) },
    { key: 'pbt-status', cmd: cmd(['proxmox-boot-tool', 'status']) },
    { key: 'kernels', cmd: g('/boot/vmlinuz-*', 'printf', '%s\\n') },
    ...files.map((f) => ({ key: `file:${f}`, cmd: cmd(['cat', f]) })),
    ...['/etc/default/grub.d', '/etc/modprobe.d', '/etc/modules-load.d'].map((d) => ({ key: `dir:${d}`, cmd: cmd(['grep', '-r', '-H', '', d]) })),
    { key: 'stat', cmd: cmd(['stat', '-c', '%n %a %u %g', ...files]) },
    { key: 'proc-cmdline', cmd: cmd(['cat', '/proc/cmdline']) },
    { key: 'boot-id', cmd: cmd(['cat', '/proc/sys/kernel/random/boot_id']) },
    { key: 'iommu-class', cmd: g('/sys/class/iommu/*', 'printf', '%s\\n') },
    { key: 'acpi-dmar', cmd: cmd(['test', '-e', '/sys/firmware/acpi/tables/DMAR']) },
    { key: 'acpi-ivrs', cmd: cmd(['test', '-e', '/sys/firmware/acpi/tables/IVRS']) },
    { key: 'iommu-groups', cmd: g('/sys/kernel/iommu_groups/*/devices/*', 'printf', '%s\\n') },
    { key: 'lspci', cmd: cmd(['lspci', '-nnk', '-D']) },
    { key: 'pci-sysfs', cmd: cmd(['grep', '-H', '.', '/sys/bus/pci/devices/*/boot_vga', '/sys/bus/pci/devices/*/driver_override'], { raw: [3, 4] }) },
    { key: 'modules', cmd: cmd(['cat', '/proc/modules']) },
    { key: 'dmesg', cmd: cmd(['dmesg']) },
    { key: 'failed-units', cmd: cmd(['systemctl', '--failed', '--plain', '--no-legend']) },
    { key: 'net-links', cmd: g('/sys/class/net/*', 'readlink', '-f') },
    { key: 'bridge-ports', cmd: g('/sys/class/net/*/brif/*', 'printf', '%s\\n') },
    { key: 'bond-slaves', cmd: g('/sys/class/net/*/bonding/slaves', 'grep', '-H', '.') },
    { key: 'ip-addr', cmd: cmd(['ip', '-o', 'addr', 'show']) },
    { key: 'ip-route', cmd: cmd(['ip', '-o', 'route', 'show', 'default']) },
    { key: 'lsblk', cmd: cmd(['lsblk', '-n', '-P', '-o', 'NAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT']) },
    { key: 'block-links', cmd: g('/sys/block/*', 'readlink', '-f') },
  ];
}

export function readFacts(host: SimHost): Map<string, { output: string; rc: number }> {
  const r = host.exec(batch(factsSections(), NONCE));
  return parseBatch(r.stdout, NONCE);
}

export function newHost(profile: string, opts: SimHostOptions = {}): SimHost {
  let n = 0;
  return new SimHost(profile, { newBootId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`, ...opts });
}

/** Run a script; fail loudly on a dialect violation (normal runs must have none). */
export function sh(host: SimHost, script: string, stdin?: string): ExecOutcome {
  const before = host.violations.length;
  const r = host.exec(script, { stdin });
  if (host.violations.length !== before) throw new Error(`dialect violation: ${host.violations.at(-1)?.message}`);
  return r;
}

/** The tool's write form (shell.ts atomicWrite), content on stdin. */
export function writeFile(host: SimHost, path: string, content: string, mode = '0644'): ExecOutcome {
  return sh(host, atomicWrite(path, { mode, uid: 0, gid: 0 }), content);
}

export function q(argv: string[]): string {
  return render(cmd(argv));
}

/** Reboot through the dialect and finish it (what the server does after the delay). */
export function reboot(host: SimHost): void {
  const r = sh(host, q(['systemctl', 'reboot']));
  if (!r.reboot) throw new Error('reboot not requested');
  host.completeReboot();
}

export function cat(host: SimHost, path: string): string {
  return sh(host, q(['cat', path])).stdout;
}

export { all, cmd, glob, render };
