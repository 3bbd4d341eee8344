/**
 * Early binding to vfio-pci: /etc/modprobe.d/pve-passthrough.conf.
 *
 * Rules:
 * - A device's functions: with allFunctions every function of its slot
 *   (DDDD:BB:SS.*) found in lspci, else the device alone.
 * - Binding: `ids` -> `options vfio-pci ids=a,b` (sorted, deduplicated over
 *   every id-bound function). A twin is an UNDECLARED device with the same
 *   vendor:device id as one of the functions: `ids` with a twin is refused;
 *   `auto` with a twin (and `address`) binds by address instead.
 * - softdep: `softdep <drv> pre: vfio-pci` for device.softdep or, by default,
 *   the device's current driver and its lspci `Kernel modules` candidates
 *   (never vfio-pci itself).
 * - Per-address binding is ONE install hook, on vfio-pci itself:
 *     install vfio-pci echo vfio-pci > /sys/bus/pci/devices/<bdf1>/driver_override; …; modprobe -i vfio-pci $CMDLINE_OPTS
 *   Why there: kmod ignores the install command of a module that has a softdep
 *   (modprobe.d(5) "softdep takes precedence"; libkmod-module.c sets
 *   `ignorecmd` for it), but runs those of the softdep's pre modules. So each
 *   load of a host driver (udev coldplug or modprobe, in the initramfs or on
 *   the root fs) first runs vfio-pci's hook, which pins the addresses before
 *   the driver can probe; loading vfio-pci through modules-load.d runs it too.
 *   kmod finds an install command even when vfio-pci.ko is not in the
 *   initramfs (initramfs-tools copies modprobe.d, not the modules of `install`
 *   lines), so a host driver in the initramfs also skips the pinned devices,
 *   which vfio-pci binds once it loads on the root fs.
 * - Refused by address (resolveBinding), because the hook would never run:
 *   the host driver or vfio-pci built into the next kernel (modules.builtin:
 *   a built-in driver binds while the kernel starts, before any modprobe.d
 *   rule or initramfs script, and a built-in module is never probed);
 *   another file's `install vfio-pci`, whichever is read first (kmod runs
 *   only the first: the hook or the operator's line would silently not run);
 *   any `softdep vfio-pci` (it would make kmod ignore the hook). An operator
 *   softdep for the host driver without vfio-pci is taken over instead
 *   (modprobe-adopt.ts: vfio-pci joins its pre: list in the tool's file).
 * - `disable_vga=1` on the same `options vfio-pci` line when a declared
 *   VGA-class device sets disableVga (module-wide: the plan warns when it
 *   reaches more than that device).
 * - blacklist only for device.blacklist.
 * - `options vfio_iommu_type1 allow_unsafe_interrupts=1` only when safety
 *   allowed it; the cmdline ledger comment (see kernel-cmdline.ts) rides along.
 * - No content left: the file is removed.
 * Every value is checked against its strict pattern again before it is
 * rendered; a mismatch throws (it can only be a bug or hostile facts).
 */
import { MODULE_NAME, PCI_ADDRESS, PCI_ID } from '../../patterns.js';
import type { HostFacts, PciDevice } from '../../facts/host/types.js';
import type { Device, Node } from '../../inventory/schema.js';
import type { Refusal, Warning } from '../types.js';
import type { FileChange, ModuleResult } from './file-change.js';
import { MANAGED_HEADER, MODPROBE_D, MODPROBE_FILE, UnsafeContentError } from './paths.js';
import { normalizeModule } from '../../facts/host/modprobe-d.js';

export function slotOf(address: string): string {
  const dot = address.lastIndexOf('.');
  return dot < 0 ? address : address.slice(0, dot);
}

export function findPci(facts: HostFacts, address: string): PciDevice | undefined {
  return facts.pci.find((p) => p.address === address);
}

/** The PCI functions a declared device passes through. */
export function functionsOf(device: Device, facts: HostFacts): PciDevice[] {
  if (!device.allFunctions) {
    const own = findPci(facts, device.address);
    return own ? [own] : [];
  }
  const slot = slotOf(device.address);
  return facts.pci.filter((p) => slotOf(p.address) === slot && !p.isBridge).sort((a, b) => a.address.localeCompare(b.address));
}

/** Every address covered by the given declared devices (their functions included). */
export function coveredAddresses(devices: readonly Device[], facts: HostFacts): Set<string> {
  const set = new Set<string>();
  for (const d of devices) {
    set.add(d.address);
    for (const f of functionsOf(d, facts)) set.add(f.address);
  }
  return set;
}

/** Undeclared devices sharing a vendor:device id with the device's functions. */
export function twinsOf(device: Device, facts: HostFacts, covered: ReadonlySet<string>): PciDevice[] {
  const ids = new Set(functionsOf(device, facts).map((f) => f.id));
  return facts.pci.filter((p) => ids.has(p.id) && !covered.has(p.address));
}

export type Binding = { readonly mode: 'ids' | 'address'; readonly twins: readonly PciDevice[] };

export function resolveBinding(device: Device, facts: HostFacts, covered: ReadonlySet<string>): Binding | Refusal {
  const twins = twinsOf(device, facts, covered);
  const byAddress = (): Binding | Refusal => {
    const problem = addressBindingProblem(device, functionsOf(device, facts), facts);
    return problem === null ? { mode: 'address', twins } : { subject: `device ${device.address}`, ...problem };
  };
  if (device.bind === 'address') return byAddress();
  if (twins.length === 0) return { mode: 'ids', twins };
  if (device.bind === 'ids') {
    return {
      subject: `device ${device.address}`,
      reason: `options vfio-pci ids= would also take ${twins.map((t) => `${t.address} (${t.id}, ${t.driver ?? 'no driver'})`).join(', ')}, which is not declared`,
      fix: 'set "bind": "auto" or "address" to bind by address, or declare the other device too',
    };
  }
  return byAddress();
}

/** The tool's file name: kmod reads modprobe.d files in name order, whatever their directory. */
const OWN_NAME = MODPROBE_FILE.slice(MODPROBE_FILE.lastIndexOf('/') + 1);
const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const readBeforeOwn = (file: string): boolean => baseName(file) < OWN_NAME;

/** Why vfio-pci's install hook would not pin this device at boot, or null when it will. */
export function addressBindingProblem(device: Device, fns: readonly PciDevice[], facts: HostFacts): { reason: string; fix: string } | null {
  const builtin = new Set(facts.builtinModules?.[facts.kernel.next] ?? []);
  const inUse = fns.map((f) => f.driver).filter((d): d is string => d !== null && normalizeModule(d) !== 'vfio_pci');
  const { drivers } = hostDriversOf(device, fns);
  const builtIn = [...new Set([...inUse, ...drivers].filter((d) => builtin.has(normalizeModule(d))))].sort();
  if (builtIn.length) {
    return {
      reason: `${builtIn.join(', ')} ${builtIn.length > 1 ? 'are' : 'is'} built into kernel ${facts.kernel.next} (modules.builtin): a built-in driver binds its devices while the kernel starts, before any modprobe.d rule or initramfs script can set driver_override, so binding by address cannot survive a boot`,
      fix: 'declare the twin device too and bind by ids, or boot a kernel that builds this driver as a module',
    };
  }
  if (builtin.has('vfio_pci')) {
    return { reason: `vfio-pci is built into kernel ${facts.kernel.next}: kmod never probes a built-in module, so its install hook cannot pin the device`, fix: 'declare the twin device too and bind by ids (vfio-pci.ids= on the kernel command line)' };
  }
  // The operator's directives, in kmod's reading order (facts/host/modprobe-d.ts).
  const others = <T extends { file: string }>(xs: readonly T[]): T[] => xs.filter((x) => x.file !== MODPROBE_FILE);
  // kmod runs only the first install command of a module: read first, the operator's line replaces the
  // hook; read after, the hook silently replaces the operator's line. Either way two owners: refused.
  const install = others(facts.modprobe.installs).find((i) => normalizeModule(i.module) === 'vfio_pci');
  if (install) {
    return {
      reason: `${install.file} line ${install.line} has its own "install ${install.module}"; kmod runs only the first install command of a module, so ${readBeforeOwn(install.file) ? "the tool's hook would never run" : 'that line would silently stop running behind the tool\'s hook'}`,
      fix: 'remove that line (or bind by ids), then plan again',
    };
  }
  const vfioSoftdep = others(facts.modprobe.softdeps).find((d) => normalizeModule(d.module) === 'vfio_pci');
  if (vfioSoftdep) {
    return { reason: `${vfioSoftdep.file} line ${vfioSoftdep.line} gives vfio-pci a softdep, and kmod ignores the install command of a module that has one (modprobe.d(5): softdep takes precedence)`, fix: 'remove that softdep line' };
  }
  // An operator softdep for a host driver that does not load vfio-pci first is taken over by modprobe-adopt.ts
  // (merged into the tool's file, so vfio-pci and its hook load first), or blocks there when it is outside
  // /etc/modprobe.d; an operator install command for a host driver blocks there too.
  return null;
}

export function isRefusal(x: Binding | Refusal): x is Refusal {
  return 'reason' in x;
}

/**
 * Drivers to order after vfio-pci (and to hook for per-address binding). Invalid names from facts are dropped.
 * From lspci's "Kernel modules" (the modules whose aliases match the device: the same before and after the
 * binding), and only without those from the driver in use: that one is a driver name, not always a module's
 * (xhci_pci binds as "xhci_hcd"), and is vfio-pci once bound, so the next plan would drop it (a second run
 * that changes something). On a real kernel: the QEMU flows' second plan, with the e1000e on vfio-pci and the
 * guest's own lspci, keeps `softdep e1000e pre: vfio-pci` and finds nothing to do (test/qemu/flow.ts).
 */
export function hostDriversOf(device: Device, fns: readonly PciDevice[]): { drivers: string[]; dropped: string[] } {
  const raw = device.softdep ?? fns.flatMap((f) => (f.modules.length > 0 ? f.modules : f.driver ? [f.driver] : []));
  const dropped = raw.filter((m) => !MODULE_NAME.test(m));
  const seen = new Map<string, string>();
  for (const m of raw) {
    if (!MODULE_NAME.test(m)) continue;
    const key = normalizeModule(m);
    if (key === 'vfio_pci') continue;
    if (!seen.has(key)) seen.set(key, m);
  }
  return { drivers: [...seen.values()].sort(), dropped };
}

export interface ModprobePlan {
  readonly ids: readonly string[];
  readonly softdeps: readonly string[];
  readonly blacklist: readonly string[];
  /** Addresses bound by address (pinned by vfio-pci's install hook). */
  readonly overrides: readonly string[];
  readonly unsafeInterrupts: boolean;
  /** `disable_vga=1` for vfio-pci (module-wide), asked by these declared devices. */
  readonly disableVga: readonly string[];
  /** Extra comment line (the cmdline ledger), rendered last. */
  readonly trailer: string | null;
}

function check(re: RegExp, what: string, v: string): string {
  if (!re.test(v)) throw new UnsafeContentError(what, v);
  return v;
}

/** vfio-pci's install hook: pin every address, then load vfio-pci itself without install commands. */
export function installLine(addresses: readonly string[]): string {
  const overrides = [...new Set(addresses)].sort().map((a) => `echo vfio-pci > /sys/bus/pci/devices/${check(PCI_ADDRESS, 'PCI address', a)}/driver_override`);
  return `install vfio-pci ${[...overrides, 'modprobe -i vfio-pci $CMDLINE_OPTS'].join('; ')}`;
}

export function renderModprobe(p: ModprobePlan): string | null {
  const lines: string[] = [];
  // One options line for vfio-pci: its ids= and disable_vga=1 together (one owner per setting, see modprobe-adopt.ts).
  const vfioOpts = [...(p.ids.length ? [`ids=${p.ids.map((i) => check(PCI_ID, 'PCI id', i)).join(',')}`] : []), ...(p.disableVga.length ? ['disable_vga=1'] : [])];
  if (vfioOpts.length) lines.push(`options vfio-pci ${vfioOpts.join(' ')}`);
  if (p.unsafeInterrupts) lines.push('options vfio_iommu_type1 allow_unsafe_interrupts=1');
  for (const m of p.softdeps) lines.push(`softdep ${check(MODULE_NAME, 'module name', m)} pre: vfio-pci`);
  for (const m of p.blacklist) lines.push(`blacklist ${check(MODULE_NAME, 'module name', m)}`);
  if (p.overrides.length) lines.push(installLine(p.overrides));
  if (p.trailer !== null) {
    if (!p.trailer.startsWith('#') || /[\r\n]/.test(p.trailer)) throw new UnsafeContentError('comment', p.trailer);
    lines.push(p.trailer);
  }
  return lines.length ? `${MANAGED_HEADER}\n${lines.join('\n')}\n` : null;
}

/** Lines of the other modprobe.d/*.conf files (comments dropped), with their file. */
function otherModprobeLines(facts: HostFacts): { file: string; words: string[] }[] {
  return Object.keys(facts.files)
    .filter((p) => p.startsWith(MODPROBE_D) && p.endsWith('.conf') && p !== MODPROBE_FILE)
    .sort()
    .flatMap((file) => (facts.files[file]?.content ?? '').split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => ({ file, words: l.split(/\s+/) })));
}

export interface BindingInput {
  readonly devices: readonly Device[];
  readonly bindings: ReadonlyMap<string, Binding>;
  readonly unsafeInterrupts: boolean;
  readonly trailer: string | null;
}

export function planModprobe(_node: Node, facts: HostFacts, input: BindingInput): ModuleResult & { readonly plan: ModprobePlan } {
  const ids = new Set<string>();
  const softdeps = new Map<string, string>();
  const blacklist = new Set<string>();
  const overrides = new Set<string>();
  const warnings: Warning[] = [];
  for (const d of input.devices) {
    const fns = functionsOf(d, facts);
    const binding = input.bindings.get(d.address) ?? { mode: 'ids', twins: [] };
    const { drivers, dropped } = hostDriversOf(d, fns);
    if (dropped.length) warnings.push({ subject: `device ${d.address}`, message: `ignoring driver names that are not valid module names: ${dropped.map((x) => JSON.stringify(x.slice(0, 40))).join(', ')}` });
    for (const m of drivers) if (!softdeps.has(normalizeModule(m))) softdeps.set(normalizeModule(m), m);
    for (const b of d.blacklist) blacklist.add(b);
    if (binding.mode === 'ids') {
      for (const f of fns) ids.add(f.id);
    } else {
      for (const f of fns) overrides.add(f.address);
    }
  }
  const plan: ModprobePlan = {
    ids: [...ids].sort(),
    softdeps: [...softdeps.values()].sort(),
    blacklist: [...blacklist].sort(),
    overrides: [...overrides].sort(),
    unsafeInterrupts: input.unsafeInterrupts,
    disableVga: input.devices.filter((d) => d.disableVga).map((d) => d.address).sort(),
    trailer: input.trailer,
  };
  if (plan.disableVga.length) {
    const vga = facts.pci.filter((p) => p.classCode === '0300' && !plan.disableVga.includes(p.address) && (plan.ids.includes(p.id) || plan.overrides.includes(p.address) || input.devices.some((d) => functionsOf(d, facts).includes(p))));
    if (plan.disableVga.length > 1 || vga.length) {
      warnings.push({ subject: 'module vfio-pci', message: `disable_vga=1 is module-wide: it applies to every VGA device vfio-pci drives (${[...plan.disableVga, ...vga.map((p) => p.address)].sort().join(', ')}), not only to ${plan.disableVga.length > 1 ? 'one of them' : plan.disableVga[0]}` });
    }
  }
  for (const { file, words } of otherModprobeLines(facts)) {
    const [verb, mod] = words;
    if (verb === 'install' && mod && softdeps.has(normalizeModule(mod))) {
      warnings.push({ subject: `file ${file}`, message: `has an install command for ${mod}; the tool's softdep on ${mod} makes kmod ignore it (modprobe.d(5): softdep takes precedence)` });
    }
  }
  const after = renderModprobe(plan);
  const current = facts.files[MODPROBE_FILE]?.content ?? null;
  const changes: FileChange[] = current === after ? [] : [{
    path: MODPROBE_FILE,
    after,
    reason: after ? 'bind the declared devices to vfio-pci at boot' : 'nothing left to bind',
  }];
  return { changes, refused: [], blocking: [], warnings, plan };
}
