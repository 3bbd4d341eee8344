/**
 * Combines the section parsers into one HostFacts. Never throws on content:
 * every problem becomes a `parseErrors` entry (a non-empty list blocks writes
 * downstream), and every field still gets a safe value.
 */
import { PCI_ADDRESS } from '../../patterns.js';
import type { SectionResult } from '../../transport/shell.js';
import { decideBootLoader } from './boot-loader.js';
import { framebufferClaims } from './framebuffer.js';
import { parseHostname } from './hostname.js';
import { computeHostNeeds } from './host-needs.js';
import { parseIomem } from './parse-iomem.js';
import { parsePciResources, type PciBar } from './parse-pci-resource.js';
import { parseCpuVendor } from './parse-cpu.js';
import { parseDmesgIommu } from './parse-dmesg-iommu.js';
import { evaluateGrub, grubInputs } from './grub-defaults.js';
import { iommuKindFromUnits, parseIommuGroups, parseIommuUnits } from './parse-iommu-groups.js';
import { nextKernel, parseInstalledKernels, parsePin, parseUname } from './parse-kernel.js';
import { parseLsblk, parseBlockLinks } from './parse-lsblk.js';
import { parseLspci } from './parse-lspci.js';
import { emptyModprobe, modprobeConfigFrom } from './modprobe-d.js';
import { MODULES_CONF_LINK, modulesToLoadFrom, parseProcModules } from './modules-load-d.js';
import { parseModulesBuiltin } from './parse-modules-builtin.js';
import { parseBondSlaves, parseBridgePorts, parseCorosyncNodes, parseDefaultRoutes, parseIpAddr, parseNetLinks } from './parse-net.js';
import { parsePbtStatus } from './parse-pbt-status.js';
import { parsePciSysfs } from './parse-pci-sysfs.js';
import { parseVfioDisableVga } from './parse-vfio-disable-vga.js';
import { readFiles } from './read-files.js';
import { factsSectionKeys } from './script.js';
import { capLongLines, excerpt, splitLines, type Parsed } from './text.js';
import type { CpuVendor, GrubFacts, HostFacts, IommuState, PciDevice, RemoteFile } from './types.js';

export const MAX_PARSE_ERRORS = 100;

export interface AssembleContext {
  /** The host address the SSH connection reached (server side), to find the management NIC. */
  readonly connectedAddress?: string;
}

/** Runs a parser; a throw (a bug, or input nobody foresaw) becomes an error, not a crash. */
function safely<T>(label: string, fallback: T, errors: string[], fn: () => Parsed<T>): T {
  try {
    const r = fn();
    errors.push(...r.errors);
    return r.value;
  } catch (e) {
    errors.push(`${label}: parser failed (${e instanceof Error ? e.message.slice(0, 120) : 'unknown error'})`);
    return fallback;
  }
}

function firstLine(text: string): string {
  return (splitLines(text)[0] ?? '').trim();
}

export function assembleHostFacts(input: ReadonlyMap<string, SectionResult>, ctx: AssembleContext = {}): HostFacts {
  const r = reader(input);
  const id = identity(r);
  const config = configuration(r);
  const content = (path: string): string | null => config.files[path]?.content ?? null;
  const kernel = kernelFacts(r, content);
  const pbt = r.safely('pbt-status', { installed: false, configured: false, bootedWith: null, esps: [], evidence: [] }, () =>
    parsePbtStatus(r.out('pbt-status'), r.rc('pbt-status')),
  );
  const bootLoader = decideBootLoader({ efi: r.rc('efi') === 0, bootUuids: content('/etc/kernel/proxmox-boot-uuids'), pbt });
  const iommu = iommuFacts(r, id.cpuVendor);
  const { pci, bootVga } = pciDevices(r, iommu.active);
  const framebuffer = framebufferFacts(r);
  const hostNeeds = hostNeedsFacts(r, { hostname: id.hostname, ctx, corosync: content('/etc/pve/corosync.conf'), proxmoxBootTool: bootLoader.proxmoxBootTool, bootVga, known: new Set(pci.map((d) => d.address)) });
  const runtime = runtimeFacts(r);
  const unique = [...new Set(r.errors)];
  const parseErrors = unique.length > MAX_PARSE_ERRORS ? [...unique.slice(0, MAX_PARSE_ERRORS), `… ${unique.length - MAX_PARSE_ERRORS} more problems`] : unique;
  const { grub } = config;
  return {
    hostname: id.hostname,
    cpuVendor: id.cpuVendor,
    kernel,
    pveVersion: id.pveVersion,
    debianVersion: id.debianVersion,
    bootLoader,
    procCmdline: runtime.procCmdline,
    files: config.files,
    modprobe: config.modprobe,
    modulesToLoad: config.modulesToLoad,
    readsEtcModules: config.readsEtcModules,
    modulesLoaded: config.modulesLoaded,
    builtinModules: config.builtinModules,
    ...(runtime.vfioDisableVga !== undefined ? { vfioDisableVga: runtime.vfioDisableVga } : {}),
    iommu,
    pci,
    framebuffer,
    hostNeeds,
    bootId: runtime.bootId,
    failedUnits: runtime.failedUnits,
    parseErrors,
    ...(grub !== undefined ? { grub } : {}),
  };
}

/** The sections with over-long lines capped once; every problem found on the way is pushed to `errors`, in reading order. */
interface Reader {
  readonly sections: ReadonlyMap<string, SectionResult>;
  readonly errors: string[];
  out(key: string): string;
  rc(key: string): number;
  safely<T>(label: string, fallback: T, fn: () => Parsed<T>): T;
}

function reader(input: ReadonlyMap<string, SectionResult>): Reader {
  const errors: string[] = [];
  const sections = new Map<string, SectionResult>();
  for (const [key, s] of input) {
    const capped = capLongLines(s.output, key);
    errors.push(...capped.errors);
    sections.set(key, { output: capped.text, rc: s.rc });
  }
  for (const key of factsSectionKeys()) if (!sections.has(key)) errors.push(`section ${key} is missing from the output`);
  return {
    sections,
    errors,
    out: (key) => sections.get(key)?.output ?? '',
    rc: (key) => sections.get(key)?.rc ?? -1,
    safely: (label, fallback, fn) => safely(label, fallback, errors, fn),
  };
}

function identity(r: Reader): Pick<HostFacts, 'hostname' | 'pveVersion' | 'debianVersion' | 'cpuVendor'> {
  const read = r.rc('hostname') === 0 ? parseHostname(r.out('hostname')) : { problem: `hostname exited with ${r.rc('hostname')}: ${excerpt(firstLine(r.out('hostname')))}` };
  if ('problem' in read) r.errors.push(read.problem);
  const hostname = 'hostname' in read ? read.hostname : '';
  const pveLine = firstLine(r.out('pveversion'));
  let pveVersion: string | null = null;
  if (r.rc('pveversion') === 0) {
    pveVersion = /^pve-manager\/\S+/.exec(pveLine)?.[0] ?? null;
    if (pveVersion === null) r.errors.push(`pveversion: unexpected output ${excerpt(pveLine)}`);
  } else if (r.rc('pveversion') !== 127) {
    r.errors.push(`pveversion exited with ${r.rc('pveversion')}: ${excerpt(pveLine)}`);
  }
  const debianLine = firstLine(r.out('debian'));
  const debianVersion = r.rc('debian') === 0 && /^[A-Za-z0-9./_+-]{1,40}$/.test(debianLine) ? debianLine : null;
  const cpuVendor: CpuVendor = parseCpuVendor(r.out('cpu'));
  return { hostname, pveVersion, debianVersion, cpuVendor };
}

/** The files read and what they configure: kmod, systemd-modules-load, GRUB. */
function configuration(r: Reader): Pick<HostFacts, 'files' | 'modprobe' | 'readsEtcModules' | 'modulesToLoad' | 'modulesLoaded' | 'builtinModules'> & { grub: GrubFacts | undefined } {
  const files: Record<string, RemoteFile> = r.safely('files', {}, () => readFiles(r.sections));
  const modprobe = r.safely('modprobe', emptyModprobe(), () => modprobeConfigFrom(files));
  // /etc/modules is read by systemd only through Debian's modules.conf -> ../modules link.
  const readsEtcModules = r.rc('modules-conf-link') === 0 && firstLine(r.out('modules-conf-link')) === '/etc/modules' && files[MODULES_CONF_LINK] === undefined;
  const modulesToLoad = r.safely('modules-load.d', [], () => modulesToLoadFrom(files, readsEtcModules));
  const modulesLoaded = r.safely('modules', [], () => parseProcModules(r.out('modules')));
  const builtinModules = r.safely('modules-builtin', {}, () => parseModulesBuiltin(r.out('modules-builtin')));
  // GRUB files that do not source cleanly block the node (plan and verify evaluate them again, with the same evaluator).
  const grubFiles = grubInputs(files);
  const grub: GrubFacts | undefined = grubFiles.size === 0 ? undefined : r.safely('grub', undefined, () => evaluateGrub(grubFiles));
  return { files, modprobe, readsEtcModules, modulesToLoad, modulesLoaded, builtinModules, grub };
}

function kernelFacts(r: Reader, content: (path: string) => string | null): HostFacts['kernel'] {
  const running = r.safely('uname', '', () => parseUname(r.out('uname')));
  const installed = r.safely('kernels', [], () => parseInstalledKernels(r.out('kernels')));
  const next = nextKernel({
    running,
    installed,
    pin: parsePin(content('/etc/kernel/proxmox-boot-pin')),
    nextBootPin: parsePin(content('/etc/kernel/next-boot-pin')),
  });
  return { running, next: next.release, installed };
}

/** Which IOMMU: the active units, else the ACPI table, else the CPU vendor; dmesg for interrupt remapping. */
function iommuFacts(r: Reader, cpuVendor: CpuVendor): IommuState {
  const units = r.safely('iommu-class', [], () => parseIommuUnits(r.out('iommu-class')));
  const dmar = r.rc('acpi-dmar') === 0;
  const ivrs = r.rc('acpi-ivrs') === 0;
  const firmwareTable: IommuState['firmwareTable'] = dmar && ivrs ? (cpuVendor === 'amd' ? 'IVRS' : 'DMAR') : dmar ? 'DMAR' : ivrs ? 'IVRS' : null;
  const dmesg = parseDmesgIommu(r.out('dmesg'));
  return {
    active: units.length > 0,
    kind: iommuKindFromUnits(units) ?? (firmwareTable === 'DMAR' ? 'intel' : firmwareTable === 'IVRS' ? 'amd' : cpuVendor === 'unknown' ? null : cpuVendor),
    units,
    firmwareTable,
    interruptRemapping: dmesg.interruptRemapping,
    passthroughDomain: dmesg.passthroughDomain,
    evidence: dmesg.evidence,
  };
}

/** lspci joined with the IOMMU groups and sysfs (boot_vga, driver_override). */
function pciDevices(r: Reader, iommuActive: boolean): { pci: PciDevice[]; bootVga: ReadonlySet<string> } {
  const lspci = r.safely('lspci', [], () => parseLspci(r.out('lspci')));
  const groups = r.safely('iommu-groups', new Map<string, number>(), () => parseIommuGroups(r.out('iommu-groups')));
  const sysfs = r.safely('pci-sysfs', { bootVga: new Set<string>(), driverOverride: new Map<string, string>() }, () =>
    parsePciSysfs(r.out('pci-sysfs')),
  );
  const pci: PciDevice[] = lspci.map((d) => ({
    ...d,
    iommuGroup: groups.get(d.address) ?? null,
    bootVga: sysfs.bootVga.has(d.address),
    driverOverride: sysfs.driverOverride.get(d.address) ?? null,
  }));
  const known = new Set(pci.map((d) => d.address));
  const strangers = [...groups.keys()].filter((bdf) => !known.has(bdf));
  if (strangers.length > 0) r.errors.push(`IOMMU groups list devices lspci did not show: ${strangers.slice(0, 10).join(', ')}`);
  if (iommuActive && pci.length > 0 && groups.size === 0) r.errors.push('the IOMMU is active but no IOMMU groups were listed');
  return { pci, bootVga: sysfs.bootVga };
}

/** Firmware framebuffers over PCI BARs. */
function framebufferFacts(r: Reader): HostFacts['framebuffer'] {
  const iomem = r.safely('iomem', { ranges: [], hidden: false }, () => parseIomem(r.out('iomem')));
  if (r.rc('iomem') !== 0) r.errors.push('/proc/iomem could not be read');
  const bars = r.safely<ReadonlyMap<string, readonly PciBar[]>>('pci-resource', new Map(), () => parsePciResources(r.out('pci-resource')));
  return { claims: framebufferClaims(iomem, bars), hidden: iomem.hidden };
}

/** What the host needs: its network (management, corosync), its disks, its console. */
function hostNeedsFacts(r: Reader, o: { hostname: string; ctx: AssembleContext; corosync: string | null; proxmoxBootTool: boolean; bootVga: ReadonlySet<string>; known: ReadonlySet<string> }): HostFacts['hostNeeds'] {
  const netLinks = r.safely('net-links', new Map<string, string | null>(), () => parseNetLinks(r.out('net-links')));
  const bridgePorts = r.safely('bridge-ports', new Map<string, string[]>(), () => parseBridgePorts(r.out('bridge-ports')));
  const bondSlaves = r.safely('bond-slaves', new Map<string, string[]>(), () => parseBondSlaves(r.out('bond-slaves')));
  const ip = r.safely('ip-addr', { addresses: new Map<string, string[]>(), parents: new Map<string, string>() }, () => parseIpAddr(r.out('ip-addr')));
  const defaultRouteIfaces = r.safely('ip-route', [], () => parseDefaultRoutes(r.out('ip-route')));
  const blockDevs = r.safely('lsblk', [], () => parseLsblk(r.out('lsblk')));
  const blockLinks = r.safely('block-links', new Map(), () => parseBlockLinks(r.out('block-links')));
  const hostNeeds = r.safely('host-needs', {}, () =>
    computeHostNeeds({
      hostname: o.hostname,
      ...(o.ctx.connectedAddress !== undefined ? { connectedAddress: o.ctx.connectedAddress } : {}),
      topology: { ifacePci: netLinks, bridgePorts, bondSlaves, vlanParents: ip.parents },
      addresses: ip.addresses,
      defaultRouteIfaces,
      corosyncNodes: o.corosync === null ? [] : parseCorosyncNodes(o.corosync),
      blockDevs,
      blockLinks,
      proxmoxBootTool: o.proxmoxBootTool,
      bootVga: o.bootVga,
    }),
  );
  for (const bdf of Object.keys(hostNeeds)) {
    if (!PCI_ADDRESS.test(bdf)) r.errors.push(`host-needs: odd PCI address ${excerpt(bdf)}`);
    else if (!o.known.has(bdf)) r.errors.push(`host-needs: ${bdf} is needed by the host but lspci did not list it`);
  }
  return hostNeeds;
}

function runtimeFacts(r: Reader): Pick<HostFacts, 'procCmdline' | 'bootId' | 'failedUnits' | 'vfioDisableVga'> {
  const procCmdline = firstLine(r.out('proc-cmdline'));
  if (r.rc('proc-cmdline') !== 0 || procCmdline === '') r.errors.push('/proc/cmdline could not be read');
  const bootId = firstLine(r.out('boot-id')).toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(bootId)) r.errors.push(`boot-id: unexpected ${excerpt(bootId)}`);
  const failedUnits = splitLines(r.out('failed-units'))
    .map((l) => l.replace(/^[\s●*×x]+(?=\S+\.\w+\s)/u, '').trim().split(/\s+/)[0] ?? '')
    .filter((u) => /^[A-Za-z0-9@:._\\-]+\.(?:service|socket|mount|target|timer|path|device|scope|slice|swap|automount)$/.test(u));
  // A missing section is already an error of its own (reader).
  const vfioDisableVga = r.sections.has('vfio-disable-vga')
    ? r.safely<boolean | null | undefined>('vfio-disable-vga', undefined, () => parseVfioDisableVga(r.out('vfio-disable-vga'), r.rc('vfio-disable-vga')))
    : undefined;
  return { procCmdline, bootId, failedUnits, vfioDisableVga };
}
