/**
 * What a boot produces, computed from what the boot loader and the initramfs
 * had INSTALLED (not from what the config files say now): the kernel command
 * line, whether the IOMMU is on, which driver wins each device, which modules
 * load and which units fail. Pure: the host passes the files in.
 */
import type { ConfigFile } from './modprobe-config.js';
import { parseModprobe, parseModulesLoad, replayLoads } from './modprobe-config.js';
import { cmdlineTokens, cmdlineValue, compareKernels, hasVirqfdModule, intelIommuDefaultOn, kernelAtLeast, moduleKey } from './kernel.js';
import { bootFramebuffer, type SimFramebuffer } from './iomem.js';
import type { PciSpec, ProfileData } from './profile-types.js';

export interface InitramfsSnapshot {
  /** /etc/modprobe.d/*.conf, /etc/modules and modules-load.d as they were at `update-initramfs`. */
  readonly files: readonly ConfigFile[];
  readonly kernels: readonly string[];
}

export interface EspState {
  readonly kind: 'grub' | 'uefi';
  /** systemd-boot: the first line of /etc/kernel/cmdline; GRUB: the evaluated GRUB_CMDLINE_* args. */
  readonly cmdline: string;
  readonly kernels: readonly string[];
  readonly initramfs: InitramfsSnapshot;
}

export interface InstalledBoot {
  /** Plain GRUB: the args in /boot/grub/grub.cfg. */
  grubArgs: string;
  /** The initramfs images in /boot. */
  initramfs: InitramfsSnapshot;
  /** proxmox-boot-tool ESPs (all synced alike), null when not used. */
  esp: EspState | null;
}

export interface BootState {
  readonly kernel: string;
  cmdline: string;
  readonly iommuActive: boolean;
  readonly iommuKind: 'intel' | 'amd' | null;
  readonly passthroughDomain: boolean;
  /** Address -> bound driver name (null = unbound). Mutated by live sysfs writes. */
  readonly drivers: Map<string, string | null>;
  /** Address -> driver_override. */
  readonly overrides: Map<string, string>;
  /** Loaded modules (normalised names). */
  readonly modules: Set<string>;
  /** Ids vfio-pci claims (grows when `modprobe vfio-pci` reads live options). */
  vfioIds: ReadonlySet<string>;
  /** /sys/module/vfio_pci/parameters/disable_vga: fixed when vfio-pci loads; null while it is not loaded. */
  vfioDisableVga: boolean | null;
  readonly failedUnits: string[];
  /** Kernel log lines without timestamps, with the time they were logged (seconds). */
  readonly dmesg: { t: number; text: string }[];
  /** Set when this boot took a device the host needs: the host is unreachable. */
  readonly cutOff: string | null;
  /** The firmware framebuffer still over a GPU BAR in /proc/iomem (iomem.ts). */
  readonly framebuffer: SimFramebuffer | null;
}

export interface BootInput {
  readonly profile: ProfileData;
  readonly installed: InstalledBoot;
  /** Live /etc/modules + /etc/modules-load.d/*.conf (systemd-modules-load reads the root fs). */
  readonly modulesLoadFiles: readonly ConfigFile[];
  readonly pins: { readonly pin: string | null; readonly nextBoot: string | null };
  readonly hostNeeds: ReadonlyMap<string, string>;
  /** Kernel release -> modules built into it (/lib/modules/<k>/modules.builtin). */
  readonly builtinModules?: Readonly<Record<string, readonly string[]>>;
}

const ALWAYS_AVAILABLE = ['vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_pci_core', 'kvm', 'kvm_intel', 'kvm_amd', 'irqbypass', 'bonding', '8021q', 'br_netfilter', 'nf_conntrack', 'zfs', 'nvme', 'ahci', 'msr', 'coretemp', 'k10temp', 'tun', 'vhost_net', 'iommufd'];

export function pickKernel(installed: readonly string[], pins: BootInput['pins'], running: string): string {
  for (const k of [pins.nextBoot, pins.pin]) if (k && installed.includes(k)) return k;
  const sorted = [...installed].sort(compareKernels);
  return sorted[sorted.length - 1] ?? running;
}

export function hostModule(d: PciSpec): string | null {
  if (d.driver === null) return null;
  if (d.driverModule) return moduleKey(d.driverModule);
  const key = moduleKey(d.driver);
  if (d.modules.some((m) => moduleKey(m) === key)) return key;
  return d.modules.length > 0 ? moduleKey(d.modules[d.modules.length - 1]!) : key;
}

export function isBridge(d: PciSpec): boolean {
  return d.classCode.startsWith('06');
}

export function computeBoot(input: BootInput): BootState {
  const { profile: p, installed } = input;
  const kernel = pickKernel(p.kernel.installed, input.pins, p.kernel.running);
  const loader = p.boot.loader;
  const initramfs = loader === 'grub' || !installed.esp ? installed.initramfs : installed.esp.initramfs;
  let cmdline: string;
  if (loader === 'systemd-boot') {
    cmdline = `initrd=\\EFI\\proxmox\\${kernel}\\initrd.img-${kernel} ${installed.esp?.cmdline ?? ''}`;
  } else {
    const args = loader === 'grub-pbt' ? installed.esp?.cmdline ?? '' : installed.grubArgs;
    cmdline = `BOOT_IMAGE=/boot/vmlinuz-${kernel} ${p.boot.grubRoot ?? 'root=/dev/mapper/pve-root ro'} ${args}`;
  }
  cmdline = cmdlineTokens(cmdline).join(' ');

  const dmesg: { t: number; text: string }[] = [];
  const log = (t: number, text: string): void => {
    dmesg.push({ t, text });
  };
  log(0, `Linux version ${kernel} (build@proxmox) (gcc (Debian 14.2.0-19) 14.2.0, GNU ld (GNU Binutils for Debian) 2.44) #1 SMP PREEMPT_DYNAMIC PMX ${kernel.replace(/-pve$/, '')} x86_64`);
  log(0, `Command line: ${cmdline}`);

  const vendor = p.cpu.vendor;
  const tokens = cmdlineTokens(cmdline);
  const intelOpt = cmdlineValue(cmdline, 'intel_iommu');
  const amdOpt = cmdlineValue(cmdline, 'amd_iommu');
  const pt = tokens.includes('iommu=pt') || tokens.includes('iommu.passthrough=1');
  let iommuActive = false;
  if (vendor === 'intel') {
    for (const v of (intelOpt ?? '').split(',').filter(Boolean)) {
      if (!['on', 'off', 'igfx_off', 'forcedac', 'strict', 'sp_off', 'sm_on', 'sm_off', 'tboot_noforce'].includes(v)) log(0.01, `DMAR: Unknown option - '${v}'`);
    }
    if (intelOpt?.split(',').includes('on')) log(0.01, 'DMAR: IOMMU enabled');
    const wanted = intelOpt?.split(',').includes('off') ? false : intelOpt?.split(',').includes('on') ? true : intelIommuDefaultOn(kernel);
    if (p.firmware.iommu) {
      log(0.009, 'ACPI: DMAR 0x000000007A2D5000 000088 (v02 INTEL  EDK2     00000002      01000013)');
      log(0.094, 'DMAR: Host address width 39');
      log(0.094, 'DMAR: DRHD base: 0x000000fed90000 flags: 0x0');
      log(0.094, 'DMAR: dmar0: reg_base_addr fed90000 ver 4:0 cap 1c0000c40660462 ecap 29a00f0505e');
      log(0.094, 'DMAR: DRHD base: 0x000000fed91000 flags: 0x1');
      log(0.094, 'DMAR: dmar1: reg_base_addr fed91000 ver 5:0 cap d2008c40660462 ecap f050da');
      if (p.firmware.interruptRemapping) {
        log(0.094, 'DMAR-IR: IOAPIC id 2 under DRHD base  0xfed91000 IOMMU 1');
        log(0.095, 'DMAR-IR: Enabled IRQ remapping in x2apic mode');
      } else {
        log(0.095, 'DMAR-IR: Failed to enable irq remapping.  You are vulnerable to irq-injection attacks.');
      }
      iommuActive = wanted;
    }
  } else {
    for (const v of (amdOpt ?? '').split(',').filter(Boolean)) {
      if (!['fullflush', 'off', 'force_isolation', 'force_enable', 'pgtbl_v1', 'pgtbl_v2', 'irtcachedis', 'nohugepages', 'v2_pgsizes_only'].includes(v)) log(0.01, `AMD-Vi: Unknown option - '${v}'`);
    }
    if (p.firmware.iommu) {
      log(0.009, 'ACPI: IVRS 0x00000000BA4C4000 0001A4 (v02 AMD    AmdTable 00000001 AMD  00000001)');
      iommuActive = !amdOpt?.split(',').includes('off');
      if (iommuActive) {
        log(0.412, 'pci 0000:00:00.2: AMD-Vi: IOMMU performance counters supported');
        log(0.415, 'pci 0000:00:00.2: AMD-Vi: Found IOMMU cap 0x40');
        log(0.415, 'AMD-Vi: Extended features (0x246577efa2254afa, 0x10): PPR NX GT [5] IA GA PC GA_vAPIC');
        if (p.firmware.interruptRemapping) {
          log(0.416, 'AMD-Vi: Interrupt remapping enabled');
          log(0.416, 'AMD-Vi: X2APIC enabled');
          log(0.416, 'AMD-Vi: Virtual APIC enabled');
        }
        log(0.52, 'perf/amd_iommu: Detected AMD IOMMU #0 (2 banks, 4 counters/bank).');
      }
    }
  }
  log(0.42, `iommu: Default domain type: ${pt ? 'Passthrough (set via kernel command line)' : 'Translated'}`);
  if (!pt) log(0.42, 'iommu: DMA domain TLB invalidation policy: lazy mode');
  if (iommuActive) {
    if (vendor === 'intel') log(0.98, 'DMAR: Intel(R) Virtualization Technology for Directed I/O');
    for (const d of p.pci) if (d.iommuGroup !== null) log(0.99, `pci ${d.address}: Adding to iommu group ${d.iommuGroup}`);
  }

  // Drivers, with kmod's rules (modprobe-config.ts) over the initramfs snapshot's modprobe.d
  // (the tool refreshes the initramfs whenever it changes modprobe.d). Built-in drivers bind
  // while the kernel starts. Then the load requests, in the pessimistic order: udev coldplug
  // (a host driver in the initramfs) before systemd-modules-load. A driver_override of
  // vfio-pci keeps the host driver off a device; vfio-pci takes overridden and ids= devices
  // that are still free when it loads.
  const rules = parseModprobe(initramfs.files, cmdline);
  const modulesWanted = parseModulesLoad(input.modulesLoadFiles);
  const available = new Set([...ALWAYS_AVAILABLE, ...(p.extraModules ?? []), ...p.pci.flatMap((d) => d.modules.map(moduleKey))].map(moduleKey));
  if (hasVirqfdModule(kernel)) available.add('vfio_virqfd');
  const builtin = new Set((input.builtinModules?.[kernel] ?? []).map(moduleKey));
  const world = { available, builtin };
  const drivers = new Map<string, string | null>();
  const overrides = new Map<string, string>();
  for (const d of p.pci) {
    const m = hostModule(d);
    drivers.set(d.address, isBridge(d) || (m !== null && builtin.has(m)) ? d.driver : null);
  }
  let vfioLoaded = builtin.has('vfio_pci');
  const loadedByKmod = new Set<string>();
  const moduleLoaded = (mod: string): void => {
    loadedByKmod.add(mod);
    if (mod === 'vfio_pci') {
      vfioLoaded = true;
      for (const d of p.pci) {
        if (!isBridge(d) && drivers.get(d.address) === null && (overrides.get(d.address) === 'vfio-pci' || rules.vfioIds.has(d.id))) drivers.set(d.address, 'vfio-pci');
      }
      return;
    }
    for (const d of p.pci) {
      if (!isBridge(d) && hostModule(d) === mod && drivers.get(d.address) === null && overrides.get(d.address) !== 'vfio-pci') drivers.set(d.address, d.driver);
    }
  };
  const udev = [...new Set(p.pci.filter((d) => !isBridge(d)).map(hostModule).filter((m): m is string => m !== null && !builtin.has(m)))];
  for (const load of replayLoads(rules, world, [...udev, ...modulesWanted])) {
    for (const a of load.actions) {
      if (a.kind === 'install') {
        for (const m of a.command.matchAll(/vfio-pci\s*>\s*\/sys\/bus\/pci\/devices\/([0-9a-f:.]+)\/driver_override/g)) overrides.set(m[1]!, 'vfio-pci');
        // The command loads its module only if it runs modprobe on it without install commands.
        const again = new RegExp(`modprobe\\s+(?:-i|--ignore-install)\\s+${a.module.replace(/_/g, '[-_]')}(\\s|$)`);
        if (again.test(a.command)) moduleLoaded(a.module);
      } else if (a.kind === 'insmod') {
        moduleLoaded(a.module);
      }
    }
  }
  for (const d of p.pci) {
    if (drivers.get(d.address) === 'vfio-pci' && !iommuActive) {
      log(4.1, `vfio-pci: probe of ${d.address} failed with error -22`);
      drivers.set(d.address, null);
    }
  }

  const modules = new Set<string>(['kvm', vendor === 'intel' ? 'kvm_intel' : 'kvm_amd', 'irqbypass']);
  for (const d of p.pci) {
    const m = hostModule(d);
    if (m && drivers.get(d.address) === d.driver && !isBridge(d) && !builtin.has(m)) modules.add(m);
  }
  for (const m of loadedByKmod) if (available.has(m) && !modulesWanted.some((w) => moduleKey(w) === m) && !m.startsWith('vfio')) modules.add(m);
  if (p.block.rows.some((r) => r.fstype === 'zfs_member')) modules.add('zfs');
  const failedUnits: string[] = [];
  let modulesLoadFailed = false;
  for (const name of modulesWanted) {
    const key = moduleKey(name);
    if (!available.has(key)) {
      modulesLoadFailed = true;
      log(5.2, `systemd-modules-load[412]: Failed to find module '${name}'`);
      continue;
    }
    modules.add(key);
  }
  if (modulesLoadFailed) failedUnits.push('systemd-modules-load.service');
  const vfioBound = [...drivers.values()].includes('vfio-pci');
  if (vfioLoaded || vfioBound || modulesWanted.some((m) => moduleKey(m).startsWith('vfio'))) {
    addVfioModules(modules, kernel);
    log(4.0, 'VFIO - User Level meta-driver version: 0.3');
    for (const id of [...rules.vfioIds].sort()) log(4.01, `vfio_pci: add [${id}[ffffffff:ffffffff]] class 0x000000/00000000`);
    for (const d of p.pci) {
      if (drivers.get(d.address) === 'vfio-pci' && d.classCode === '0300') {
        log(4.02, `vfio-pci ${d.address}: vgaarb: VGA decodes changed: olddecodes=io+mem,decodes=io+mem:owns=none`);
      }
    }
  }

  // vfio-pci reads disable_vga once, when it loads; built in, only the command line can set it.
  const vfioPciUp = modules.has('vfio_pci') || builtin.has('vfio_pci');
  const vfioDisableVga = !vfioPciUp ? null : builtin.has('vfio_pci') ? parseModprobe([], cmdline).vfioDisableVga : rules.vfioDisableVga;

  let cutOff: string | null = null;
  for (const [addr, why] of input.hostNeeds) {
    const spec = p.pci.find((d) => d.address === addr);
    if (spec && drivers.get(addr) !== spec.driver) {
      cutOff = `${addr} (${why}) came up on ${drivers.get(addr) ?? 'no driver'} instead of ${spec.driver ?? 'no driver'}`;
      log(6, `pve-sim: host cut off: ${cutOff}`);
      break;
    }
  }

  dmesg.sort((a, b) => a.t - b.t);
  return {
    kernel,
    cmdline,
    iommuActive,
    iommuKind: iommuActive ? vendor : null,
    passthroughDomain: pt,
    drivers,
    overrides,
    modules,
    vfioIds: rules.vfioIds,
    vfioDisableVga,
    failedUnits,
    dmesg,
    cutOff,
    framebuffer: bootFramebuffer(p, kernel, cmdline, drivers),
  };
}

export function addVfioModules(modules: Set<string>, kernel: string): void {
  for (const m of ['vfio', 'vfio_iommu_type1', 'vfio_pci', 'vfio_pci_core', 'irqbypass']) modules.add(m);
  if (hasVirqfdModule(kernel)) modules.add('vfio_virqfd');
  if (kernelAtLeast(kernel, 6, 6)) modules.add('iommufd');
}
