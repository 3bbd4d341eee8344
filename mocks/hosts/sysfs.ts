/**
 * Builds /sys and /proc of the running boot inside the virtual file system:
 * PCI devices with their driver and iommu_group links, IOMMU groups and
 * units, firmware tables, network and block device links, the proc files the
 * tool reads. Regenerated after a boot and after each live sysfs write.
 */
import type { BootState } from './boot.js';
import { isBridge } from './boot.js';
import { barLayout, renderIomem, renderResource } from './iomem.js';
import type { ProfileData, PciSpec } from './profile-types.js';
import type { Vfs } from './vfs.js';

export interface SysInput {
  readonly profile: ProfileData;
  readonly boot: BootState;
  readonly bootId: string;
}

/** Canonical sysfs directory of a device: /sys/devices/pci0000:00/<bridges…>/<bdf>. */
export function devicePath(p: ProfileData, address: string): string {
  const chain: string[] = [];
  let cur: PciSpec | undefined = p.pci.find((d) => d.address === address);
  let guard = 0;
  while (cur && guard++ < 16) {
    chain.unshift(cur.address);
    cur = cur.parent ? p.pci.find((d) => d.address === cur!.parent) : undefined;
  }
  if (chain.length === 0) chain.push(address);
  return `/sys/devices/pci${address.slice(0, 4)}:00/${chain.join('/')}`;
}

/** Relative link from directory `fromDir` to absolute `to`. */
function rel(fromDir: string, to: string): string {
  const a = fromDir.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

function link(vfs: Vfs, at: string, target: string): void {
  const dir = at.slice(0, at.lastIndexOf('/'));
  vfs.mkdir(dir, { parents: true });
  vfs.symlink(at, rel(dir, target));
}

function file(vfs: Vfs, path: string, content: string, mode = 0o444): void {
  vfs.mkdir(path.slice(0, path.lastIndexOf('/')), { parents: true });
  vfs.write(path, content, { mode });
}

/** Network interfaces present right now: a physical NIC vanishes when its driver is not the host driver. */
export function presentIfaces(p: ProfileData, boot: BootState): Set<string> {
  const present = new Set<string>();
  for (const i of p.net.ifaces) {
    if (i.kind === 'phys') {
      const spec = p.pci.find((d) => d.address === i.pci);
      if (spec && boot.drivers.get(i.pci) === spec.driver && spec.driver !== null) present.add(i.name);
    } else {
      present.add(i.name);
    }
  }
  return present;
}

export function materialise(vfs: Vfs, input: SysInput): void {
  const { profile: p, boot } = input;
  vfs.removeTree('/sys');
  vfs.removeTree('/proc');
  vfs.mkdir('/sys');
  vfs.mkdir('/proc');

  // PCI devices.
  const driversDir = '/sys/bus/pci/drivers';
  vfs.mkdir(driversDir, { parents: true });
  vfs.mkdir('/sys/bus/pci/devices', { parents: true });
  file(vfs, '/sys/bus/pci/drivers_probe', '', 0o200);
  const driverNames = new Set<string>();
  for (const d of p.pci) {
    const drv = boot.drivers.get(d.address);
    if (drv) driverNames.add(drv);
  }
  if (boot.modules.has('vfio_pci')) driverNames.add('vfio-pci');
  for (const name of driverNames) {
    file(vfs, `${driversDir}/${name}/bind`, '', 0o200);
    file(vfs, `${driversDir}/${name}/unbind`, '', 0o200);
  }
  vfs.mkdir('/sys/kernel/iommu_groups', { parents: true }); // exists, empty, when the IOMMU is off
  const layout = barLayout(p);
  for (const d of p.pci) {
    const dir = devicePath(p, d.address);
    vfs.mkdir(dir, { parents: true });
    const [vendor, device] = d.id.split(':');
    const [svendor, sdevice] = (d.subsystem?.id ?? '0000:0000').split(':');
    file(vfs, `${dir}/vendor`, `0x${vendor}\n`);
    file(vfs, `${dir}/device`, `0x${device}\n`);
    file(vfs, `${dir}/class`, `0x${d.classCode}00\n`);
    file(vfs, `${dir}/subsystem_vendor`, `0x${svendor}\n`);
    file(vfs, `${dir}/subsystem_device`, `0x${sdevice}\n`);
    file(vfs, `${dir}/driver_override`, `${boot.overrides.get(d.address) ?? '(null)'}\n`, 0o644);
    if (d.classCode === '0300') file(vfs, `${dir}/boot_vga`, d.bootVga ? '1\n' : '0\n');
    file(vfs, `${dir}/resource`, renderResource(layout.get(d.address)));
    if (isBridge(d)) vfs.mkdir(`${dir}/pci_bus`);
    else file(vfs, `${dir}/reset`, '', 0o200);
    link(vfs, `/sys/bus/pci/devices/${d.address}`, dir);
    const drv = boot.drivers.get(d.address);
    if (drv) {
      link(vfs, `${dir}/driver`, `${driversDir}/${drv}`);
      link(vfs, `${driversDir}/${drv}/${d.address}`, dir);
    }
    if (boot.iommuActive && d.iommuGroup !== null) {
      const g = `/sys/kernel/iommu_groups/${d.iommuGroup}`;
      link(vfs, `${dir}/iommu_group`, g);
      link(vfs, `${g}/devices/${d.address}`, dir);
      if (!vfs.exists(`${g}/type`)) file(vfs, `${g}/type`, boot.passthroughDomain ? 'identity\n' : 'DMA-FQ\n');
    }
  }

  // Module parameters (kernel/params.c: a bool prints Y or N); the directory exists only while the module is loaded.
  if (boot.vfioDisableVga !== null) file(vfs, '/sys/module/vfio_pci/parameters/disable_vga', boot.vfioDisableVga ? 'Y\n' : 'N\n');

  // IOMMU units and firmware.
  vfs.mkdir('/sys/class/iommu', { parents: true });
  if (boot.iommuActive) {
    const units = boot.iommuKind === 'intel' ? ['dmar0', 'dmar1'] : ['ivhd0'];
    for (const u of units) {
      const target = boot.iommuKind === 'intel' ? `/sys/devices/virtual/iommu/${u}` : `${devicePath(p, '0000:00:00.2')}/iommu/${u}`;
      vfs.mkdir(target, { parents: true });
      link(vfs, `/sys/class/iommu/${u}`, target);
    }
  }
  vfs.mkdir('/sys/firmware/acpi/tables', { parents: true });
  if (p.firmware.iommu) file(vfs, `/sys/firmware/acpi/tables/${p.cpu.vendor === 'intel' ? 'DMAR' : 'IVRS'}`, 'table', 0o400);
  if (p.firmware.efi) vfs.mkdir('/sys/firmware/efi/efivars', { parents: true });

  // Network.
  vfs.mkdir('/sys/class/net', { parents: true });
  const present = presentIfaces(p, boot);
  const ifacePath = new Map<string, string>();
  for (const i of p.net.ifaces) {
    if (!present.has(i.name)) continue;
    const target = i.kind === 'phys' ? `${devicePath(p, i.pci)}/net/${i.name}` : `/sys/devices/virtual/net/${i.name}`;
    ifacePath.set(i.name, target);
    vfs.mkdir(target, { parents: true });
    file(vfs, `${target}/address`, `${i.kind === 'loopback' ? '00:00:00:00:00:00' : i.mac}\n`);
    link(vfs, `/sys/class/net/${i.name}`, target);
  }
  for (const i of p.net.ifaces) {
    const target = ifacePath.get(i.name);
    if (!target) continue;
    if (i.kind === 'bridge') {
      vfs.mkdir(`${target}/brif`, { parents: true });
      for (const port of i.ports) {
        const portPath = ifacePath.get(port);
        if (portPath) link(vfs, `${target}/brif/${port}`, `${portPath}/brport`);
      }
    }
    if (i.kind === 'bond') {
      file(vfs, `${target}/bonding/slaves`, `${i.slaves.filter((s) => present.has(s)).join(' ')}\n`, 0o644);
    }
  }

  // Block devices.
  vfs.mkdir('/sys/block', { parents: true });
  let dm = 0;
  let ata = 1;
  for (const r of p.block.rows) {
    let target: string | null = null;
    if (r.type === 'disk') {
      const ctrl = p.block.controllers[r.name];
      if (ctrl && /^nvme(\d+)n\d+$/.test(r.name)) {
        target = `${devicePath(p, ctrl)}/nvme/nvme${/^nvme(\d+)/.exec(r.name)![1]}/${r.name}`;
      } else if (ctrl) {
        const n = ata++;
        target = `${devicePath(p, ctrl)}/ata${n}/host${n - 1}/target${n - 1}:0:0/${n - 1}:0:0:0/block/${r.name}`;
      } else {
        target = `/sys/devices/virtual/block/${r.name}`;
      }
    } else if (r.type === 'lvm') {
      target = `/sys/devices/virtual/block/dm-${dm++}`;
    }
    if (target) {
      vfs.mkdir(target, { parents: true });
      link(vfs, `/sys/block/${target.slice(target.lastIndexOf('/') + 1)}`, target);
    }
  }

  // /proc.
  file(vfs, '/proc/cmdline', `${boot.cmdline}\n`);
  file(vfs, '/proc/iomem', renderIomem(p, layout, boot.framebuffer, boot.drivers));
  file(vfs, '/proc/sys/kernel/random/boot_id', `${input.bootId}\n`);
  file(vfs, '/proc/cpuinfo', cpuinfo(p));
  file(vfs, '/proc/modules', procModules(boot.modules));
}

function cpuinfo(p: ProfileData): string {
  const vendorId = p.cpu.vendor === 'intel' ? 'GenuineIntel' : 'AuthenticAMD';
  const flags = p.cpu.vendor === 'intel' ? 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov vmx ept vpid' : 'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov svm npt';
  const out: string[] = [];
  for (let i = 0; i < 4; i++) {
    out.push(`processor\t: ${i}`, `vendor_id\t: ${vendorId}`, `cpu family\t: ${p.cpu.vendor === 'intel' ? 6 : 25}`, `model name\t: ${p.cpu.model}`, `flags\t\t: ${flags}`, '');
  }
  return out.join('\n') + '\n';
}

/** `name size refs deps state addr`, like the kernel prints it (addresses hidden from non-root, so zeros). */
function procModules(mods: ReadonlySet<string>): string {
  const deps: Record<string, string[]> = {
    vfio: ['vfio_pci_core', 'vfio_iommu_type1', 'vfio_pci'],
    vfio_pci_core: ['vfio_pci'],
    irqbypass: ['vfio_pci_core', 'kvm'],
    kvm: ['kvm_intel', 'kvm_amd'],
  };
  return [...mods]
    .sort()
    .map((m) => {
      const users = (deps[m] ?? []).filter((u) => mods.has(u));
      const size = 4096 * (8 + (hash(m) % 700));
      return `${m} ${size} ${users.length} ${users.length ? users.join(',') + ',' : '-'} Live 0x0000000000000000`;
    })
    .join('\n') + '\n';
}

function hash(s: string): number {
  let h = 7;
  for (const c of s) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h;
}
