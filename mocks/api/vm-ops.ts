/**
 * What qemu-server does for config writes, start, stop and shutdown, over the
 * simulated state. Errors thrown here are Perl `die`s: inside a task they
 * become its exitstatus, in a synchronous call an HTTP 500 (or the status
 * a SimHttpError carries).
 */
import type { AuthIdentity } from './auth.js';
import { applyPending, cleanupPending } from './config-file.js';
import { die, paramError, SimHttpError } from './errors.js';
import { entriesForNode, assertEntryValid } from './mapping-file.js';
import { parsePropertyString, splitList } from './propstring.js';
import {
  FAST_PLUG_KEYS, HOSTPCI_FORMAT, MACHINE_FORMAT, MAX_HOSTPCI_DEVICES, ROOT_ONLY_KEYS, isQ35, machineTypeOf,
} from './rules.js';
import type { RawParams } from './schema.js';
import type { SimClusterState, SimVm } from './state.js';
import type { TaskContext } from './tasks.js';

export const CHECKSUM_MISMATCH = 'checksum mismatch (file change by other user?)';

/** Parameters of a config write that are not config keys. */
const CONTROL_PARAMS = new Set(['node', 'vmid', 'delete', 'revert', 'digest', 'skiplock', 'force', 'background_delay', 'import-working-storage']);

export interface ConfigUpdate {
  readonly set: ReadonlyMap<string, string>;
  readonly del: readonly string[];
  readonly revert: readonly string[];
  readonly force: boolean;
  readonly digest?: string;
  readonly skiplock: boolean;
}

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function toConfigUpdate(params: RawParams): ConfigUpdate {
  const set = new Map<string, string>();
  for (const [k, v] of Object.entries(params)) if (!CONTROL_PARAMS.has(k)) set.set(k, one(v) ?? '');
  const digest = one(params.digest);
  return {
    set,
    del: splitList(one(params.delete) ?? ''),
    revert: splitList(one(params.revert) ?? ''),
    force: one(params.force) === '1',
    skiplock: one(params.skiplock) === '1',
    ...(digest !== undefined ? { digest } : {}),
  };
}

export function requirePriv(identity: AuthIdentity, priv: string, path: string): void {
  if (identity.privs && !identity.privs.has(priv)) throw new SimHttpError(403, `Permission check failed (${path}, ${priv})`);
}

const isRoot = (identity: AuthIdentity): boolean => identity.authid === 'root@pam';

/** The checks qemu-server runs before forking the worker (HTTP errors). */
export function precheckUpdate(vm: SimVm, upd: ConfigUpdate, identity: AuthIdentity): void {
  if (upd.skiplock && !isRoot(identity)) throw new SimHttpError(403, 'Only root may use this option.');
  for (const key of upd.del) {
    if (upd.set.has(key)) throw paramError({ delete: `you can't use '-${key}' and -delete ${key}' at the same time` });
  }
  if (upd.set.size === 0 && upd.del.length === 0 && upd.revert.length === 0) throw die('no options specified');
  if (upd.digest !== undefined && upd.digest !== vm.digest) throw die(CHECKSUM_MISMATCH);
}

/** qemu-server check_hostpci_perm: raw `host=` is root@pam's alone, and since 9.2.6 (commit 79782166) any `romfile=` too. */
function checkHostpciPerm(identity: AuthIdentity, vm: SimVm, key: string, value: string): void {
  if (isRoot(identity)) return;
  const device = parsePropertyString(HOSTPCI_FORMAT, value).value;
  if (device.host !== undefined && device.mapping === undefined) {
    throw new Error(`only root can set '${key}' config for non-mapped devices`);
  }
  if (device.romfile !== undefined) throw new Error(`only root can set '${key}' config with a romfile`);
  requirePriv(identity, 'Mapping.Use', `/mapping/pci/${device.mapping ?? ''}`);
  requirePriv(identity, 'VM.Config.HWType', `/vms/${vm.vmid}`);
}

function checkKeyPerm(identity: AuthIdentity, vm: SimVm, key: string, newValue: string | undefined): void {
  if (/^hostpci\d+$/.test(key)) {
    const old = vm.file.pending.get(key) ?? vm.file.current.get(key);
    if (old !== undefined) checkHostpciPerm(identity, vm, key, old);
    if (newValue !== undefined) checkHostpciPerm(identity, vm, key, newValue);
    return;
  }
  if (ROOT_ONLY_KEYS.has(key) && !isRoot(identity)) throw new Error(`only root can set '${key}' config`);
  requirePriv(identity, 'VM.Config.HWType', `/vms/${vm.vmid}`);
}

/** Machine.pm assert_valid_machine_property */
function assertValidMachine(value: string): void {
  const m = parsePropertyString(MACHINE_FORMAT, value).value;
  if (m.viommu === 'intel' && !machineTypeOf(value).includes('q35')) {
    throw new Error('to use Intel vIOMMU please set the machine type to q35');
  }
  if (m['aw-bits'] !== undefined && m.viommu === undefined) throw new Error('cannot set aw-bits if no vIOMMU is configured');
}

/** One line like qemu-server logs it: `update VM 101: -machine q35 -delete hostpci1`. */
export function describeUpdate(vmid: number, upd: ConfigUpdate): string {
  const parts = [...upd.set].map(([k, v]) => `-${k} ${k === 'cipassword' ? '<hidden>' : v}`);
  if (upd.del.length) parts.push(`-delete ${upd.del.join(',')}`);
  if (upd.revert.length) parts.push(`-revert ${upd.revert.join(',')}`);
  return `update VM ${vmid}: ${parts.join(' ')}`;
}

/**
 * The worker (or PUT) part of a config write: lock, digest under lock, the
 * per-key permission rules, then everything goes to pending and is applied
 * at once unless the VM runs and the key cannot be hot-plugged.
 */
export function applyConfigUpdate(vm: SimVm, upd: ConfigUpdate, identity: AuthIdentity, ctx: Pick<TaskContext, 'warn' | 'log'>): void {
  const lock = vm.file.current.get('lock');
  if (lock !== undefined && !upd.skiplock) throw new Error(`VM is locked (${lock})`);
  if (upd.digest !== undefined && upd.digest !== vm.digest) throw new Error(CHECKSUM_MISMATCH);

  for (const key of upd.del) checkKeyPerm(identity, vm, key, undefined);
  for (const [key, value] of upd.set) {
    checkKeyPerm(identity, vm, key, value);
    if (key === 'machine') assertValidMachine(value);
  }

  const file = vm.file;
  for (const key of upd.revert) {
    file.pending.delete(key);
    file.pendingDelete.delete(key);
  }
  for (const key of upd.del) {
    if (!file.current.has(key) && !file.pending.has(key)) {
      ctx.warn(`cannot delete '${key}' - not set in current configuration!`);
      continue;
    }
    file.pending.delete(key);
    if (file.current.has(key)) file.pendingDelete.set(key, upd.force);
  }
  for (const [key, value] of upd.set) {
    file.pending.set(key, value);
    file.pendingDelete.delete(key);
  }
  cleanupPending(file);
  if (vm.status === 'running') applyPending(file, (k) => FAST_PLUG_KEYS.has(k));
  else applyPending(file);
}

function stopVm(vm: SimVm): void {
  vm.status = 'stopped';
  vm.reservedPci = [];
  delete vm.runningMachine;
  delete vm.startedAt;
  delete vm.pid;
}

/** SysFSTools::lspci: a prefix match, domain 0000 implied when missing. */
function lspci(state: SimClusterState, node: string, id: string): string[] {
  const full = /^[a-f0-9]{4,}:[a-f0-9]{2}:[a-f0-9]{2}/.test(id) ? id : `0000:${id}`;
  return state.pci(node).map((d) => d.id).filter((d) => d.startsWith(full));
}

interface ParsedHostpci {
  readonly key: string;
  /** Alternatives, each a list of PCI ids passed together. */
  readonly alternatives: string[][];
  readonly mdev: boolean;
}

/** PCI.pm parse_hostpci + parse_hostpci_devices, against the node's hardware. */
function parseHostpciDevices(state: SimClusterState, vm: SimVm): ParsedHostpci[] {
  const conf = vm.file.current;
  const q35 = isQ35(conf.get('machine'));
  const out: ParsedHostpci[] = [];
  for (let i = 0; i < MAX_HOSTPCI_DEVICES; i++) {
    const key = `hostpci${i}`;
    const value = conf.get(key);
    if (!value) continue;
    const parsed = parsePropertyString(HOSTPCI_FORMAT, value, key);
    if (parsed.error !== undefined) throw new Error(parsed.error);
    const d = parsed.value;
    if (d.host !== undefined && d.mapping !== undefined) throw new Error("Cannot set both 'host' and 'mapping'.");
    const groups: string[][] = [];
    if (d.mapping !== undefined) {
      const mapping = state.mappings.get(d.mapping);
      const entries = mapping ? entriesForNode(mapping, vm.node) : [];
      if (!mapping || entries.length === 0) throw new Error(`PCI device mapping not found for '${d.mapping}'`);
      for (const entry of entries) {
        try {
          assertEntryValid(d.mapping, entry, state.pci(vm.node), mapping.mdev);
        } catch (err) {
          throw new Error(`PCI device mapping invalid (hardware probably changed): ${(err as Error).message}`);
        }
        groups.push(entry.path.split(';'));
      }
    } else if (d.host !== undefined) {
      groups.push(d.host.split(';'));
    } else {
      throw new Error("Either 'host' or 'mapping' must be set.");
    }
    const alternatives = groups.map((group) =>
      group.flatMap((id) => {
        const found = lspci(state, vm.node, id);
        if (found.length === 0) throw new Error(`no PCI device found for '${id}'`);
        return found;
      }));
    // Without a trailing newline Perl appends the source position, as in the real message.
    if (!q35 && d.pcie === '1') throw new Error('q35 machine model is not enabled at /usr/share/perl5/PVE/QemuServer/PCI.pm line 402.');
    out.push({ key, alternatives, mdev: d.mdev !== undefined });
  }
  return out;
}

/** Ids held by other running VMs on the node → their vmid. */
function reservations(state: SimClusterState, vm: SimVm): Map<string, number> {
  const held = new Map<string, number>();
  for (const other of state.vms.values()) {
    if (other === vm || other.node !== vm.node || other.status !== 'running') continue;
    for (const id of other.reservedPci) held.set(id, other.vmid);
  }
  return held;
}

/** vm_start: apply pending, then the hostpci checks, reservation, IOMMU. */
export function startVm(state: SimClusterState, vm: SimVm, ctx: Pick<TaskContext, 'log'>, machineOverride?: string): void {
  if (vm.status === 'running') throw new Error(`VM ${vm.vmid} already running`);
  const lock = vm.file.current.get('lock');
  if (lock !== undefined) throw new Error(`VM is locked (${lock})`);
  applyPending(vm.file);
  const devices = parseHostpciDevices(state, vm);
  const held = reservations(state, vm);
  const used = new Set<string>();
  const chosen: string[] = [];
  for (const dev of devices) {
    let picked: string[] | undefined;
    if (dev.alternatives.length === 1) {
      picked = dev.alternatives[0] as string[];
      for (const id of picked) {
        if (used.has(id)) throw new Error(`device '${id}' assigned more than once`);
        const owner = held.get(id);
        if (owner !== undefined) throw new Error(`PCI device '${id}' already in use by VMID '${owner}'`);
      }
    } else {
      picked = dev.alternatives.find((ids) => ids.every((id) => !used.has(id) && !held.has(id)));
      if (!picked) throw new Error(`could not find a free device for '${dev.key}'`);
    }
    for (const id of picked) used.add(id);
    chosen.push(...picked);
  }
  if (chosen.length > 0 && !state.iommu(vm.node)) throw new Error('cannot prepare PCI pass-through, IOMMU not present');
  vm.status = 'running';
  vm.reservedPci = chosen;
  vm.startedAt = state.options.now();
  vm.pid = 20000 + vm.vmid;
  vm.runningMachine = state.resolveMachine(vm.node, machineOverride ?? vm.file.current.get('machine'));
  for (const id of chosen) ctx.log(`kvm: vfio: bound ${id} to VM ${vm.vmid}`);
}

/**
 * For a VM declared running: the PCI ids its QEMU holds (first free
 * alternative, no checks: it is already running). Unresolvable ids are skipped.
 */
export function declaredReservation(state: SimClusterState, vm: SimVm): string[] {
  const taken = reservations(state, vm);
  const out: string[] = [];
  for (let i = 0; i < MAX_HOSTPCI_DEVICES; i++) {
    const value = vm.file.current.get(`hostpci${i}`);
    if (!value) continue;
    const d = parsePropertyString(HOSTPCI_FORMAT, value).value;
    let groups: string[][] = [];
    if (d.host !== undefined) groups = [d.host.split(';')];
    else if (d.mapping !== undefined) {
      const m = state.mappings.get(d.mapping);
      groups = m ? entriesForNode(m, vm.node).map((e) => e.path.split(';')) : [];
    }
    const resolved = groups.map((g) => g.flatMap((id) => lspci(state, vm.node, id)));
    const pick = resolved.find((ids) => ids.length > 0 && ids.every((id) => !taken.has(id) && !out.includes(id)));
    if (pick) out.push(...pick);
  }
  return out;
}

export function hardStop(vm: SimVm): void {
  stopVm(vm);
}

/** vm_shutdown: a guest that ignores ACPI runs into the timeout; forceStop then kills it. */
export async function shutdownVm(
  state: SimClusterState, vm: SimVm, ctx: TaskContext, timeoutS: number | undefined, forceStop: boolean,
): Promise<void> {
  if (vm.status !== 'running') throw new Error(`VM ${vm.vmid} not running`);
  const ignores = vm.ignoreAcpiShutdown || vm.file.current.get('acpi') === '0';
  if (!ignores) {
    stopVm(vm);
    return;
  }
  await ctx.sleep((timeoutS ?? 60) * state.options.simSecondMs);
  if (vm.status !== 'running') return;
  if (!forceStop) throw new Error('VM quit/powerdown failed - got timeout');
  ctx.log('VM still running - terminating now with SIGTERM');
  stopVm(vm);
}
