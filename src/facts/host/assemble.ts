/**
 * Combines the section parsers into one HostFacts. Never throws on content:
 * every problem becomes a `parseErrors` entry (a non-empty list blocks writes
 * downstream), and every field still gets a safe value.
 */
import { PCI_ADDRESS } from '../../patterns.js';
import type { SectionResult } from '../../transport/shell.js';
import { decideBootLoader } from './boot-loader.js';
import { framebufferClaims } from './framebuffer.js';
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
  const errors: string[] = [];

  // Cap over-long lines once, for every section.
  const sections = new Map<string, SectionResult>();
  for (const [key, s] of input) {
    const capped = capLongLines(s.output, key);
    errors.push(...capped.errors);
    sections.set(key, { output: capped.text, rc: s.rc });
  }
  for (const key of factsSectionKeys()) if (!sections.has(key)) errors.push(`section ${key} is missing from the output`);
  const out = (key: string): string => sections.get(key)?.output ?? '';
  const rc = (key: string): number => sections.get(key)?.rc ?? -1;

  // Identity
  const hostname = firstLine(out('hostname'));
  if (rc('hostname') !== 0 || !/^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/.test(hostname)) errors.push(`hostname: unexpected ${excerpt(hostname)}`);
  const pveLine = firstLine(out('pveversion'));
  let pveVersion: string | null = null;
  if (rc('pveversion') === 0) {
    pveVersion = /^pve-manager\/\S+/.exec(pveLine)?.[0] ?? null;
    if (pveVersion === null) errors.push(`pveversion: unexpected output ${excerpt(pveLine)}`);
  } else if (rc('pveversion') !== 127) {
    errors.push(`pveversion exited with ${rc('pveversion')}: ${excerpt(pveLine)}`);
  }
  const debianLine = firstLine(out('debian'));
  const debianVersion = rc('debian') === 0 && /^[A-Za-z0-9./_+-]{1,40}$/.test(debianLine) ? debianLine : null;
  const cpuVendor: CpuVendor = parseCpuVendor(out('cpu'));

  // Files and what they configure
  const files: Record<string, RemoteFile> = safely('files', {}, errors, () => readFiles(sections));
  const content = (path: string): string | null => files[path]?.content ?? null;
  const modprobe = safely('modprobe', emptyModprobe(), errors, () => modprobeConfigFrom(files));
  // /etc/modules is read by systemd only through Debian's modules.conf -> ../modules link.
  const readsEtcModules = rc('modules-conf-link') === 0 && firstLine(out('modules-conf-link')) === '/etc/modules' && files[MODULES_CONF_LINK] === undefined;
  const modulesToLoad = safely('modules-load.d', [], errors, () => modulesToLoadFrom(files, readsEtcModules));
  const modulesLoaded = safely('modules', [], errors, () => parseProcModules(out('modules')));
  const builtinModules = safely('modules-builtin', {}, errors, () => parseModulesBuiltin(out('modules-builtin')));
  // GRUB files that do not source cleanly block the node (plan and verify evaluate them again, with the same evaluator).
  const grubFiles = grubInputs(files);
  const grub: GrubFacts | undefined = grubFiles.size === 0 ? undefined : safely('grub', undefined, errors, () => evaluateGrub(grubFiles));

  // Kernel
  const running = safely('uname', '', errors, () => parseUname(out('uname')));
  const installed = safely('kernels', [], errors, () => parseInstalledKernels(out('kernels')));
  const next = nextKernel({
    running,
    installed,
    pin: parsePin(content('/etc/kernel/proxmox-boot-pin')),
    nextBootPin: parsePin(content('/etc/kernel/next-boot-pin')),
  });

  // Boot loader
  const pbt = safely('pbt-status', { installed: false, configured: false, bootedWith: null, esps: [], evidence: [] }, errors, () =>
    parsePbtStatus(out('pbt-status'), rc('pbt-status')),
  );
  const bootLoader = decideBootLoader({ efi: rc('efi') === 0, bootUuids: content('/etc/kernel/proxmox-boot-uuids'), pbt });

  // IOMMU
  const units = safely('iommu-class', [], errors, () => parseIommuUnits(out('iommu-class')));
  const dmar = rc('acpi-dmar') === 0;
  const ivrs = rc('acpi-ivrs') === 0;
  const firmwareTable: IommuState['firmwareTable'] = dmar && ivrs ? (cpuVendor === 'amd' ? 'IVRS' : 'DMAR') : dmar ? 'DMAR' : ivrs ? 'IVRS' : null;
  const dmesg = parseDmesgIommu(out('dmesg'));
  const iommu: IommuState = {
    active: units.length > 0,
    kind: iommuKindFromUnits(units) ?? (firmwareTable === 'DMAR' ? 'intel' : firmwareTable === 'IVRS' ? 'amd' : cpuVendor === 'unknown' ? null : cpuVendor),
    units,
    firmwareTable,
    interruptRemapping: dmesg.interruptRemapping,
    passthroughDomain: dmesg.passthroughDomain,
    evidence: dmesg.evidence,
  };

  // PCI devices
  const lspci = safely('lspci', [], errors, () => parseLspci(out('lspci')));
  const groups = safely('iommu-groups', new Map<string, number>(), errors, () => parseIommuGroups(out('iommu-groups')));
  const sysfs = safely('pci-sysfs', { bootVga: new Set<string>(), driverOverride: new Map<string, string>() }, errors, () =>
    parsePciSysfs(out('pci-sysfs')),
  );
  const pci: PciDevice[] = lspci.map((d) => ({
    ...d,
    iommuGroup: groups.get(d.address) ?? null,
    bootVga: sysfs.bootVga.has(d.address),
    driverOverride: sysfs.driverOverride.get(d.address) ?? null,
  }));
  const known = new Set(pci.map((d) => d.address));
  const strangers = [...groups.keys()].filter((bdf) => !known.has(bdf));
  if (strangers.length > 0) errors.push(`IOMMU groups list devices lspci did not show: ${strangers.slice(0, 10).join(', ')}`);
  if (iommu.active && pci.length > 0 && groups.size === 0) errors.push('the IOMMU is active but no IOMMU groups were listed');

  // Firmware framebuffers over PCI BARs
  const iomem = safely('iomem', { ranges: [], hidden: false }, errors, () => parseIomem(out('iomem')));
  if (rc('iomem') !== 0) errors.push('/proc/iomem could not be read');
  const bars = safely<ReadonlyMap<string, readonly PciBar[]>>('pci-resource', new Map(), errors, () => parsePciResources(out('pci-resource')));
  const framebuffer = { claims: framebufferClaims(iomem, bars), hidden: iomem.hidden };

  // What the host needs
  const netLinks = safely('net-links', new Map<string, string | null>(), errors, () => parseNetLinks(out('net-links')));
  const bridgePorts = safely('bridge-ports', new Map<string, string[]>(), errors, () => parseBridgePorts(out('bridge-ports')));
  const bondSlaves = safely('bond-slaves', new Map<string, string[]>(), errors, () => parseBondSlaves(out('bond-slaves')));
  const ip = safely('ip-addr', { addresses: new Map<string, string[]>(), parents: new Map<string, string>() }, errors, () => parseIpAddr(out('ip-addr')));
  const defaultRouteIfaces = safely('ip-route', [], errors, () => parseDefaultRoutes(out('ip-route')));
  const corosync = content('/etc/pve/corosync.conf');
  const blockDevs = safely('lsblk', [], errors, () => parseLsblk(out('lsblk')));
  const blockLinks = safely('block-links', new Map(), errors, () => parseBlockLinks(out('block-links')));
  const hostNeeds = safely('host-needs', {}, errors, () =>
    computeHostNeeds({
      hostname,
      ...(ctx.connectedAddress !== undefined ? { connectedAddress: ctx.connectedAddress } : {}),
      topology: { ifacePci: netLinks, bridgePorts, bondSlaves, vlanParents: ip.parents },
      addresses: ip.addresses,
      defaultRouteIfaces,
      corosyncNodes: corosync === null ? [] : parseCorosyncNodes(corosync),
      blockDevs,
      blockLinks,
      proxmoxBootTool: bootLoader.proxmoxBootTool,
      bootVga: sysfs.bootVga,
    }),
  );
  for (const bdf of Object.keys(hostNeeds)) {
    if (!PCI_ADDRESS.test(bdf)) errors.push(`host-needs: odd PCI address ${excerpt(bdf)}`);
    else if (!known.has(bdf)) errors.push(`host-needs: ${bdf} is needed by the host but lspci did not list it`);
  }

  // Runtime state
  const procCmdline = firstLine(out('proc-cmdline'));
  if (rc('proc-cmdline') !== 0 || procCmdline === '') errors.push('/proc/cmdline could not be read');
  const bootId = firstLine(out('boot-id')).toLowerCase();
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(bootId)) errors.push(`boot-id: unexpected ${excerpt(bootId)}`);
  const failedUnits = splitLines(out('failed-units'))
    .map((l) => l.replace(/^[\s●*×x]+(?=\S+\.\w+\s)/u, '').trim().split(/\s+/)[0] ?? '')
    .filter((u) => /^[A-Za-z0-9@:._\\-]+\.(?:service|socket|mount|target|timer|path|device|scope|slice|swap|automount)$/.test(u));

  const unique = [...new Set(errors)];
  const parseErrors = unique.length > MAX_PARSE_ERRORS ? [...unique.slice(0, MAX_PARSE_ERRORS), `… ${unique.length - MAX_PARSE_ERRORS} more problems`] : unique;

  return {
    hostname,
    cpuVendor,
    kernel: { running, next: next.release, installed },
    pveVersion,
    debianVersion,
    bootLoader,
    procCmdline,
    files,
    modprobe,
    modulesToLoad,
    readsEtcModules,
    modulesLoaded,
    builtinModules,
    iommu,
    pci,
    framebuffer,
    hostNeeds,
    bootId,
    failedUnits,
    parseErrors,
    ...(grub !== undefined ? { grub } : {}),
  };
}
