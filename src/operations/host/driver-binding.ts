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
 * - Per-address binding is a modprobe install hook, one line per host driver,
 *   addresses sorted, in exactly this form:
 *     install <drv> echo vfio-pci > /sys/bus/pci/devices/<bdf1>/driver_override; echo vfio-pci > /sys/bus/pci/devices/<bdf2>/driver_override; modprobe -i <drv> $CMDLINE_OPTS
 *   modprobe runs it with /bin/sh whenever <drv> is about to load (also in the
 *   initramfs), so the override is in place before the driver can probe.
 * - softdep: `softdep <drv> pre: vfio-pci` for device.softdep or, by default,
 *   the device's current driver and its lspci `Kernel modules` candidates
 *   (never vfio-pci itself). The same drivers get the install hooks.
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
import { normalizeModule } from './vfio-modules.js';

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
  if (device.bind === 'address') return { mode: 'address', twins };
  if (twins.length === 0) return { mode: 'ids', twins };
  if (device.bind === 'ids') {
    return {
      subject: `device ${device.address}`,
      reason: `options vfio-pci ids= would also take ${twins.map((t) => `${t.address} (${t.id}, ${t.driver ?? 'no driver'})`).join(', ')}, which is not declared`,
      fix: 'set "bind": "auto" or "address" to bind by address, or declare the other device too',
    };
  }
  return { mode: 'address', twins };
}

export function isRefusal(x: Binding | Refusal): x is Refusal {
  return 'reason' in x;
}

/** Drivers to order after vfio-pci (and to hook for per-address binding). Invalid names from facts are dropped. */
export function hostDriversOf(device: Device, fns: readonly PciDevice[]): { drivers: string[]; dropped: string[] } {
  const raw = device.softdep ?? fns.flatMap((f) => [...(f.driver ? [f.driver] : []), ...f.modules]);
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
  /** driver -> addresses bound by address */
  readonly installs: ReadonlyMap<string, readonly string[]>;
  readonly unsafeInterrupts: boolean;
  /** Extra comment line (the cmdline ledger), rendered last. */
  readonly trailer: string | null;
}

function check(re: RegExp, what: string, v: string): string {
  if (!re.test(v)) throw new UnsafeContentError(what, v);
  return v;
}

export function installLine(driver: string, addresses: readonly string[]): string {
  check(MODULE_NAME, 'module name', driver);
  const overrides = [...addresses].sort().map((a) => `echo vfio-pci > /sys/bus/pci/devices/${check(PCI_ADDRESS, 'PCI address', a)}/driver_override`);
  return `install ${driver} ${[...overrides, `modprobe -i ${driver} $CMDLINE_OPTS`].join('; ')}`;
}

export function renderModprobe(p: ModprobePlan): string | null {
  const lines: string[] = [];
  if (p.ids.length) lines.push(`options vfio-pci ids=${p.ids.map((i) => check(PCI_ID, 'PCI id', i)).join(',')}`);
  if (p.unsafeInterrupts) lines.push('options vfio_iommu_type1 allow_unsafe_interrupts=1');
  for (const m of p.softdeps) lines.push(`softdep ${check(MODULE_NAME, 'module name', m)} pre: vfio-pci`);
  for (const m of p.blacklist) lines.push(`blacklist ${check(MODULE_NAME, 'module name', m)}`);
  for (const [drv, addrs] of [...p.installs].sort(([a], [b]) => a.localeCompare(b))) lines.push(installLine(drv, addrs));
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
  const installs = new Map<string, Set<string>>();
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
      for (const drv of drivers) {
        const set = installs.get(drv) ?? new Set<string>();
        for (const f of fns) set.add(f.address);
        installs.set(drv, set);
      }
    }
  }
  const plan: ModprobePlan = {
    ids: [...ids].sort(),
    softdeps: [...softdeps.values()].sort(),
    blacklist: [...blacklist].sort(),
    installs: new Map([...installs].map(([k, v]) => [k, [...v].sort()])),
    unsafeInterrupts: input.unsafeInterrupts,
    trailer: input.trailer,
  };
  for (const { file, words } of otherModprobeLines(facts)) {
    const [verb, mod] = words;
    if (verb === 'options' && mod && normalizeModule(mod) === 'vfio_pci' && words.some((w) => w.startsWith('ids=')) && plan.ids.length) {
      warnings.push({ subject: `file ${file}`, message: `also sets options vfio-pci ids=; when a module gets ids= twice the last one wins, so check which devices end up bound` });
    }
    if (verb === 'install' && mod && [...installs.keys()].some((d) => normalizeModule(d) === normalizeModule(mod))) {
      warnings.push({ subject: `file ${file}`, message: `has its own install command for ${mod}; modprobe runs only one, so per-address binding may not happen` });
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
