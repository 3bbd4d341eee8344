/**
 * One VM: its config, pending changes and power state (reads), the config
 * write and the power tasks. Raw host= hostpci writes go through the root@pam
 * ticket, or are refused before sending without one (src/operations/vm/root-rule.ts).
 */
import { ApiError, InputError } from '../../../errors.js';
import { seg, type Form, type Identity, type PveCore } from '../core.js';
import { ROOT_RULE_MESSAGE, touchedHostpci, writeNeedsRoot } from '../../../operations/vm/root-rule.js';
import { PendingShape, VmConfigShape, VmStatusShape } from '../schemas.js';
import type { PendingItem, TaskResult, VmConfig, VmStatus, WaitOptions } from '../types.js';
import { ErrorCode } from '../../../error-codes.js';

const vmPath = (node: string, vmid: number, rest: string): string => `/nodes/${seg(node)}/qemu/${vmid}/${rest}`;

/** GET …/config; `current` leaves pending changes out. */
export function vmConfig(api: PveCore, node: string, vmid: number, o: { current?: boolean } = {}): Promise<VmConfig> {
  return api.read(vmPath(node, vmid, 'config'), VmConfigShape, { ...(o.current ? { query: { current: true } } : {}), ctx: { node, vmid } });
}

export function vmPending(api: PveCore, node: string, vmid: number): Promise<PendingItem[]> {
  return api.read(vmPath(node, vmid, 'pending'), PendingShape, { ctx: { node, vmid } });
}

/** GET …/status/current: a safety input (whether a VM is running). */
export function vmStatus(api: PveCore, node: string, vmid: number): Promise<VmStatus> {
  return api.read(vmPath(node, vmid, 'status/current'), VmStatusShape, { ctx: { node, vmid } });
}

export interface VmConfigChange {
  readonly set: Readonly<Record<string, string>>;
  readonly delete: readonly string[];
  readonly digest?: string;
  /** The config as it is now; read when the root rule needs it and it is not given. */
  readonly before?: Readonly<Record<string, string>>;
}

/** POST …/config (async; waits for the task). */
export async function updateVmConfig(api: PveCore, node: string, vmid: number, change: VmConfigChange, wait: WaitOptions = {}): Promise<TaskResult | null> {
  const ctx = { node, vmid, step: 'update VM config' };
  const overlap = change.delete.filter((k) => k in change.set);
  if (overlap.length) throw new InputError(`cannot set and delete ${overlap.join(', ')} at once`, [], api.context(ctx));
  if (Object.keys(change.set).length === 0 && change.delete.length === 0) throw new InputError('no options to change', [], api.context(ctx));
  let identity: Identity = 'main';
  if (!api.mainIsRoot && touchedHostpci(change.set, change.delete).length > 0) {
    const before = change.before ?? (await vmConfig(api, node, vmid)).config;
    if (writeNeedsRoot(change.set, change.delete, before)) {
      if (!api.hasRootTicket) throw new ApiError(ErrorCode.API_ROOT_ONLY, ROOT_RULE_MESSAGE, null, {}, api.context(ctx));
      identity = 'root';
    }
  }
  const form: Record<string, Form[string]> = { ...change.set };
  if (change.delete.length) form.delete = change.delete.join(',');
  if (change.digest) form.digest = change.digest;
  return api.task('POST', vmPath(node, vmid, 'config'), form, ctx, wait, identity);
}

export function shutdownVm(api: PveCore, node: string, vmid: number, o: { timeout: number; forceStop: boolean }, wait: WaitOptions = {}): Promise<TaskResult | null> {
  return api.task('POST', vmPath(node, vmid, 'status/shutdown'), { timeout: o.timeout, forceStop: o.forceStop },
    { node, vmid, step: 'shutdown' }, { timeoutMs: (o.timeout + 60) * 1000, ...wait });
}

export function stopVm(api: PveCore, node: string, vmid: number, o: { timeout?: number } = {}, wait: WaitOptions = {}): Promise<TaskResult | null> {
  return api.task('POST', vmPath(node, vmid, 'status/stop'), { timeout: o.timeout }, { node, vmid, step: 'stop' }, wait);
}

export function startVm(api: PveCore, node: string, vmid: number, o: { timeout?: number } = {}, wait: WaitOptions = {}): Promise<TaskResult | null> {
  return api.task('POST', vmPath(node, vmid, 'status/start'), { timeout: o.timeout }, { node, vmid, step: 'start' }, wait);
}
