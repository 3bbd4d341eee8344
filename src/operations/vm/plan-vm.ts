/**
 * planVm: (declared VM, its current config) → the one config write that makes
 * it so, plus power handling, warnings and refusals. Pure. Entries that already
 * match stay at their index; an entry for the same device is updated in place;
 * new ones take free indexes; undeclared ones go only with manageAllHostpci.
 */
import { didYouMean } from '../did-you-mean.js';
import {
  HOSTPCI_KEYS, MAX_HOSTPCI, hostIdsOverlap, hostpciEqual, hostpciIndex, serialiseHostpci, tryParseHostpci, type Hostpci,
} from '../../formats/hostpci.js';
import { i440fxToQ35, isQ35, machineEqual, machineKind, parseMachine, serialiseMachine, type Machine } from '../../formats/machine.js';
import type { Vm } from '../../inventory/schema.js';
import { keepCurrentHostpci } from './keep-current.js';
import type { Refusal, Warning } from '../types.js';
import { hostSafetyRefusals } from './host-safety.js';
import { rootRuleRefusals } from './root-rule.js';
import type { MappingNodes, OtherAssignment, VmChange, VmCurrent, VmPlan, VmPlanContext } from './types.js';

export { entryToHostpci } from './entry.js';


/** Host ids an entry occupies on `node` (mappings resolved through the table). */
export function addressesOn(h: Hostpci, node: string, mappings: readonly MappingNodes[]): string[] {
  if (h.host) return [...h.host];
  const m = mappings.find((x) => x.id === h.mapping);
  return m ? mappingAddresses(m, node) : [];
}

/** The addresses a mapping has on a node (several: a pool, any of which PVE may pick). */
export function mappingAddresses(m: MappingNodes, node: string): string[] {
  const v = m.nodes[node];
  return v === undefined ? [] : typeof v === 'string' ? [v] : [...v];
}

function sameDevice(a: Hostpci, b: Hostpci, node: string, mappings: readonly MappingNodes[]): boolean {
  if (a.mapping !== undefined && a.mapping === b.mapping) return true;
  const xs = addressesOn(a, node, mappings);
  const ys = addressesOn(b, node, mappings);
  return xs.some((x) => ys.some((y) => hostIdsOverlap(x, y)));
}

/** The machine the VM must end up with, or undefined to leave it alone. */
function desiredMachine(desired: Vm, current: string | undefined, wantsPcie: boolean, node: MachineContext): { value?: string; refusal?: string; warning?: string } {
  const r = desiredMachineType(desired, current, wantsPcie, node);
  if (r.value === undefined || r.refusal) return r;
  const type = safeMachine(r.value)?.type;
  const unknown = type ? unsupportedVersion(type, node.machines) : undefined;
  return unknown ? { refusal: unknown } : r;
}

/** Node facts the machine rules need: the guest's ostype and the machine ids the node's QEMU offers. */
interface MachineContext {
  readonly ostype?: string;
  readonly node: string;
  readonly machines?: readonly string[];
}

const isWindows = (ostype: string | undefined): boolean => ostype !== undefined && /^win/.test(ostype);
const versionOf = (type: string): string | undefined => /^pc-(?:i440fx-|q35-)?(\d+(?:\.\d+)+)/.exec(type)?.[1];

/**
 * A versioned type the node's QEMU does not offer (GET /nodes/{node}/capabilities/qemu/machines).
 * The `+pveN` suffix is PVE's own compat revision of that QEMU version, so the version is compared without it.
 */
function unsupportedVersion(type: string, machines: readonly string[] | undefined): string | undefined {
  const v = versionOf(type);
  if (v === undefined || machines === undefined) return undefined;
  const kind = type.includes('q35') ? 'q35' : 'i440fx';
  const offered = machines.filter((id) => (kind === 'q35' ? id.startsWith('pc-q35-') : id.startsWith('pc-i440fx-'))).map(versionOf);
  if (offered.includes(v)) return undefined;
  return `machine ${type} is not offered by this node's QEMU (capabilities/qemu/machines lists ${kind} ${[...new Set(offered)].slice(0, 4).join(', ') || 'nothing'}…); the VM would not start`;
}

/** The newest versioned q35 the node offers (the first listed, with its +pveN revision). */
function currentQ35(machines: readonly string[] | undefined): string | undefined {
  return machines?.find((id) => /^pc-q35-\d/.test(id));
}

function desiredMachineType(desired: Vm, current: string | undefined, wantsPcie: boolean, node: MachineContext): { value?: string; refusal?: string; warning?: string } {
  const cur: Machine = current ? safeMachine(current) ?? {} : {};
  // q35 for this VM: a pinned i440fx keeps its version; an unpinned Windows guest gets the node's current one.
  const q35For = (from: string): { type: string; warning?: string } => {
    const type = i440fxToQ35(from);
    if (type !== 'q35' || !isWindows(node.ostype)) return { type };
    const pinned = currentQ35(node.machines);
    return pinned
      ? { type: pinned, warning: `Windows guest without a pinned machine version: pinned to ${pinned}, the newest q35 node ${node.node} offers, rather than a floating q35` }
      : { type, warning: `Windows guest without a pinned machine version, and node ${node.node}'s machine versions could not be read: writing a floating q35` };
  };
  if (desired.machine !== undefined) {
    const want = parseMachine(desired.machine);
    let type = want.type ?? 'pc';
    let pinWarning: string | undefined;
    if (type === 'q35' && machineKind(cur) === 'q35' && cur.type !== undefined) {
      type = cur.type; // already q35: a pinned version stays
    } else if (type === 'q35' && machineKind(cur) === 'i440fx') {
      const q = q35For(cur.type ?? 'pc');
      type = q.type;
      pinWarning = q.warning;
    } else if (type === 'q35' && cur.type === undefined && isWindows(node.ostype)) {
      const q = q35For('pc');
      type = q.type;
      pinWarning = q.warning;
    }
    const next: Machine = { ...cur, type };
    delete (next as { viommu?: string }).viommu;
    if (want.viommu) (next as { viommu?: string }).viommu = want.viommu;
    if (!next.viommu) delete (next as { 'aw-bits'?: number })['aw-bits'];
    if (wantsPcie && !isQ35(next)) return { refusal: `pcie=1 needs a q35 machine, but machine is declared as "${desired.machine}"` };
    if (machineEqual(next, cur)) return {};
    const chipset = machineKind(cur) !== machineKind(next);
    const warning = [chipset ? chipsetWarning(cur.type ?? 'pc', next.type ?? 'pc') : undefined, pinWarning].filter(Boolean).join('; ');
    return { value: serialiseMachine(next), ...(warning ? { warning } : {}) };
  }
  if (!wantsPcie || isQ35(cur)) return {};
  if (machineKind(cur) === 'virt') return { refusal: 'pcie=1 needs a q35 machine; this is an ARM (virt) VM' };
  const q = q35For(cur.type ?? 'pc');
  return { value: serialiseMachine({ ...cur, type: q.type }), warning: [chipsetWarning(cur.type ?? 'pc', q.type), q.warning].filter(Boolean).join('; ') };
}

function safeMachine(v: string): Machine | undefined {
  try {
    return parseMachine(v);
  } catch {
    return undefined;
  }
}

function chipsetWarning(from: string, to: string): string {
  return `machine changes from ${from} to ${to}: a chipset change gives the guest new PCI paths, so NIC names may change (Linux) and devices may be re-detected (Windows)`;
}

export function planVm(desired: Vm, current: VmCurrent, ctx: VmPlanContext): VmPlan {
  const subject = `VM ${desired.vmid}`;
  const cfg = current.config;
  // exact: false (flags mode) only adds: options the declaration leaves unset keep the VM's values.
  const { wanted, kept } = keepCurrentHostpci(desired, cfg, (a, b) => sameDevice(a, b, desired.node, ctx.mappings));
  const { set, del, placed, warnings, refused } = placeEntries(subject, desired, cfg, wanted, ctx.mappings);
  refused.push(...conflictRefusals(subject, desired, wanted, ctx));
  // The host side: every device the VM reaches, checked like a node device.
  if (ctx.host) {
    wanted.forEach((w, wi) => {
      const key = placed[wi] !== undefined ? `hostpci${placed[wi]}` : 'hostpci';
      refused.push(...hostSafetyRefusals(subject, key, w, addressesOn(w, desired.node, ctx.mappings), ctx.host!));
    });
  }
  const machine = machineAndGuestChecks(subject, desired, cfg, wanted, ctx);
  if (machine.value !== undefined) set.machine = machine.value;
  refused.push(...machine.refused);
  warnings.push(...machine.warnings);
  const rootOk = ctx.authKind === 'ticket' || ctx.hasRootTicket;
  if (!rootOk) refused.push(...rootRuleRefusals(subject, set, del, cfg));

  const changes: VmChange[] = [
    ...Object.entries(set).map(([key, after]) => ({ key, ...(cfg[key] !== undefined ? { before: cfg[key] } : {}), after })),
    ...del.map((key) => ({ key, before: cfg[key] as string })),
  ].sort((a, b) => a.key.localeCompare(b.key, 'en', { numeric: true }));
  const power = powerOf(desired, current, changes);
  if (power === 'pending') {
    warnings.push({ subject, message: 'the VM is running: hostpci and machine changes stay pending until it is stopped and started (set whenRunning: "restart" to do it now)' });
  }
  const blocked = refused.length > 0;
  return {
    vmid: desired.vmid,
    node: desired.node,
    set: blocked ? {} : set,
    delete: blocked ? [] : del,
    digest: current.digest,
    changes,
    power: blocked ? 'none' : power,
    shutdown: { timeoutSeconds: desired.shutdownTimeoutSeconds, allowStop: desired.allowStop },
    before: cfg,
    warnings,
    refused,
    ...(kept.length ? { kept } : {}),
  };
}

/**
 * Where each declared entry goes in the config: an exact match keeps its
 * index, the same device with other options is updated in place, undeclared
 * entries go only with manageAllHostpci (and are refused when they pass a
 * declared device again), new entries take the lowest free index (a freed
 * one is overwritten rather than deleted).
 */
function placeEntries(subject: string, desired: Vm, cfg: Readonly<Record<string, string>>, wanted: readonly Hostpci[], mappings: readonly MappingNodes[]) {
  const warnings: Warning[] = [];
  const refused: Refusal[] = [];
  const set: Record<string, string> = {};
  const del: string[] = [];
  const existing = new Map<number, { value: string; parsed: Hostpci | undefined }>();
  for (const key of HOSTPCI_KEYS) {
    const value = cfg[key];
    if (value === undefined) continue;
    const parsed = tryParseHostpci(value);
    if (!parsed) warnings.push({ subject, message: `${key} has a value this tool cannot read (${JSON.stringify(value.slice(0, 80))}); it is left alone unless manageAllHostpci is set` });
    existing.set(hostpciIndex(key) as number, { value, parsed });
  }
  const claimed = new Map<number, number>(); // config index → wanted index
  const placed = new Array<number | undefined>(wanted.length);
  const claim = (match: (e: Hostpci, w: Hostpci) => boolean, onClaim: (i: number, w: Hostpci) => void): void => {
    wanted.forEach((w, wi) => {
      if (placed[wi] !== undefined) return;
      for (const [i, e] of existing) {
        if (!claimed.has(i) && e.parsed && match(e.parsed, w)) {
          claimed.set(i, wi);
          placed[wi] = i;
          onClaim(i, w);
          return;
        }
      }
    });
  };
  claim((e, w) => hostpciEqual(e, w), () => undefined);
  claim((e, w) => sameDevice(e, w, desired.node, mappings), (i, w) => { set[`hostpci${i}`] = serialiseHostpci(w); });
  const freed: number[] = [];
  for (const [i, e] of existing) {
    if (claimed.has(i)) continue;
    if (desired.manageAllHostpci) {
      freed.push(i);
      continue;
    }
    const dup = e.parsed && wanted.findIndex((w) => sameDevice(e.parsed as Hostpci, w, desired.node, mappings));
    if (dup !== undefined && dup !== -1) {
      refused.push({
        subject, reason: `hostpci${i} (${e.value}) also passes a device declared for this VM; the VM would not start (device assigned more than once)`,
        fix: 'remove that entry or set manageAllHostpci',
      });
    }
  }
  const free = Array.from({ length: MAX_HOSTPCI }, (_, i) => i).filter((i) => !existing.has(i) || freed.includes(i));
  wanted.forEach((w, wi) => {
    if (placed[wi] !== undefined) return;
    const i = free.shift();
    if (i === undefined) {
      refused.push({ subject, reason: `no free hostpci index: a VM can have at most ${MAX_HOSTPCI} entries`, fix: 'remove entries or set manageAllHostpci' });
      return;
    }
    placed[wi] = i;
    set[`hostpci${i}`] = serialiseHostpci(w);
  });
  for (const i of freed) if (!(`hostpci${i}` in set)) del.push(`hostpci${i}`);
  return { set, del, placed, warnings, refused };
}

/** Devices other VMs already pass, and mappings that do not exist or have nothing on the VM's node. */
function conflictRefusals(subject: string, desired: Vm, wanted: readonly Hostpci[], ctx: VmPlanContext): Refusal[] {
  const refused: Refusal[] = [];
  for (const w of wanted) {
    const conflict = findConflict(w, desired.node, ctx.otherAssignments, ctx.mappings, desired.vmid);
    if (conflict) {
      refused.push({
        subject, reason: `device ${describe(w)} is already assigned to VM ${conflict.vmid} (${conflict.key}: ${conflict.value}) on ${conflict.node}`,
        fix: `remove it from VM ${conflict.vmid} first`,
      });
    }
  }
  for (const w of wanted) {
    if (w.mapping && !ctx.mappings.some((m) => m.id === w.mapping)) {
      refused.push({ subject, reason: `mapping "${w.mapping}" is neither declared in the inventory nor present in the cluster${didYouMean(w.mapping, ctx.mappings.map((m) => m.id))}`, fix: 'declare it under mappings, or correct the id' });
    } else if (w.mapping && addressesOn(w, desired.node, ctx.mappings).length === 0) {
      refused.push({ subject, reason: `mapping "${w.mapping}" has no device on node ${desired.node}`, fix: `add ${desired.node} to the mapping's nodes` });
    }
  }
  return refused;
}

/** The machine the entries need, and the guest-side checks on it (legacy-igd, x-vga, ballooning). */
function machineAndGuestChecks(subject: string, desired: Vm, cfg: Readonly<Record<string, string>>, wanted: readonly Hostpci[], ctx: VmPlanContext): { value?: string; refused: Refusal[]; warnings: Warning[] } {
  const refused: Refusal[] = [];
  const warnings: Warning[] = [];
  const wantsPcie = wanted.some((w) => w.pcie === true);
  const m0 = desiredMachine(desired, cfg.machine, wantsPcie, { node: desired.node, ...(cfg.ostype !== undefined ? { ostype: cfg.ostype } : {}), ...(ctx.machines ? { machines: ctx.machines } : {}) });
  // Only adds: the machine type is kept unless declared, so an entry asking for pcie=1 on an i440fx VM cannot be had.
  const m = !desired.exact && desired.machine === undefined && m0.value !== undefined
    ? { refusal: `pcie=1 needs a q35 machine and this VM's machine (${cfg.machine ?? 'pc'}) is kept: "machine" is not declared` }
    : m0;
  if (m.refusal) refused.push({ subject, reason: m.refusal });
  if (m.warning) warnings.push({ subject, message: m.warning });
  const finalMachine = m.value ?? cfg.machine;
  if (wanted.some((w) => w['legacy-igd']) && isQ35(finalMachine)) {
    refused.push({ subject, reason: 'legacy-igd needs an i440fx (pc) machine and cannot be used with q35' });
  }
  if (wanted.some((w) => w['x-vga']) && cfg.bios !== 'ovmf') {
    warnings.push({ subject, message: `x-vga is set but the VM boots ${cfg.bios ?? 'seabios'} (SeaBIOS), not OVMF: PVE documents GPU passthrough with bios: ovmf (the card's UEFI GOP ROM); the bios is not changed` });
  }
  if (wanted.length > 0 && cfg.balloon !== '0') {
    warnings.push({ subject, message: 'passthrough pins all guest memory, so ballooning stops working; consider balloon: 0' });
  }
  return { ...(m.value !== undefined ? { value: m.value } : {}), refused, warnings };
}

/** A running VM with changes (or relevant pending ones): restarted when declared so, else pending. */
function powerOf(desired: Vm, current: VmCurrent, changes: readonly VmChange[]): VmPlan['power'] {
  const relevantPending = current.pending.some((p) => (hostpciIndex(p.key) !== undefined || p.key === 'machine') && (p.pending !== undefined || p.delete !== undefined));
  if (current.status !== 'running' || (changes.length === 0 && !relevantPending)) return 'none';
  return desired.whenRunning === 'restart' ? 'restart' : 'pending';
}

function describe(h: Hostpci): string {
  return h.mapping ? `mapping=${h.mapping}` : (h.host ?? []).join(';');
}

function findConflict(w: Hostpci, node: string, others: readonly OtherAssignment[], mappings: readonly MappingNodes[], self: number): OtherAssignment | undefined {
  const mine = addressesOn(w, node, mappings);
  return others.find((o) => {
    if (o.vmid === self || o.node !== node) return false;
    const theirs = tryParseHostpci(o.value);
    if (!theirs) return false;
    if (w.mapping !== undefined && theirs.mapping === w.mapping) return true;
    return addressesOn(theirs, o.node, mappings).some((a) => mine.some((b) => hostIdsOverlap(a, b)));
  });
}
