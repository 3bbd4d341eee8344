/**
 * Facts of one VM, read through the API (each answer validated by the
 * transport's shape: VmConfigShape, PendingShape, VmStatusShape).
 *
 * For plan: GET …/config (pending values merged), GET …/pending and the power
 * state (from /cluster/resources when known, else GET …/status/current).
 * `vmCurrentFrom` gives
 *   { config: { hostpci0: 'mapping=gpu,pcie=1', machine: 'q35' }, digest: '3f…',
 *     pending: [{ key: 'hostpci1', pending: '0000:02:00.0' }], status: 'stopped' }
 * (any state but `running` is `stopped`: a paused VM holds its devices too, but
 * the API only ever reports running or stopped here).
 *
 * For verify: GET …/config?current=1 (what is in effect now), the pending list
 * and, for a running VM, status/current's running-machine. `vmObservedFrom`
 * gives the same shape with `runningMachine: 'pc-q35-9.2+pve1'` and no digest.
 *
 * `hostpciOf` lists a config's hostpci entries:
 *   [{ vmid: 205, node: 'pve2', key: 'hostpci0', value: '0000:01:00.0' }]
 */
import { isHostpciKey } from '../../formats/hostpci.js';
import type { PveClient } from '../../transport/pve/client.js';
import type { PendingItem, VmConfig, VmStatus } from '../../transport/pve/types.js';
import type { OtherAssignment, VmCurrent, VmObserved } from './types.js';

type VmApi = Pick<PveClient, 'vmConfig' | 'vmPending' | 'vmStatus'>;

export function vmCurrentFrom(cfg: VmConfig, pending: readonly PendingItem[], status: string): VmCurrent {
  return { config: cfg.config, digest: cfg.digest, pending, status: status === 'running' ? 'running' : 'stopped' };
}

export function vmObservedFrom(cfg: VmConfig, pending: readonly PendingItem[], status: Pick<VmStatus, 'status' | 'running-machine'>): VmObserved {
  return { config: cfg.config, pending, status: status.status === 'running' ? 'running' : 'stopped', runningMachine: status['running-machine'] };
}

export function hostpciOf(vmid: number, node: string, config: Readonly<Record<string, string>>): OtherAssignment[] {
  return Object.entries(config).filter(([k]) => isHostpciKey(k)).map(([key, value]) => ({ vmid, node, key, value: String(value) }));
}

/** Config (pending merged), pending list and power state; `knownStatus` from /cluster/resources saves a request. */
export async function readVmCurrent(api: VmApi, node: string, vmid: number, knownStatus?: string): Promise<VmCurrent> {
  const [cfg, pending, status] = await Promise.all([
    api.vmConfig(node, vmid),
    api.vmPending(node, vmid),
    knownStatus !== undefined ? Promise.resolve(knownStatus) : api.vmStatus(node, vmid).then((s) => s.status),
  ]);
  return vmCurrentFrom(cfg, pending, status);
}

/** What is in effect now; `listedStatus` from /cluster/resources: status/current is asked only for a running VM (its running machine). */
export async function readVmObserved(api: VmApi, node: string, vmid: number, listedStatus?: string): Promise<VmObserved> {
  const [cfg, pending, status] = await Promise.all([
    api.vmConfig(node, vmid, { current: true }),
    api.vmPending(node, vmid),
    listedStatus !== undefined && listedStatus !== 'running' ? Promise.resolve({ status: listedStatus as VmStatus['status'], 'running-machine': undefined }) : api.vmStatus(node, vmid),
  ]);
  return vmObservedFrom(cfg, pending, status);
}
