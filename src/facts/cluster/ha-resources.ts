/**
 * Fact: started HA resources and where they run.
 *
 * API reads: GET /cluster/ha/resources and GET /cluster/resources?type=vm
 * (both validated by the transport's shapes; a failed read is an error,
 * never "no HA": they are safety inputs of the reboot gate). Parsed by
 * `startedHaByNode` into the started resources per node, e.g.
 *   { pve1: ['vm:101'], pve2: ['ct:200'] }
 * (`state` absent means started, pve-ha-manager's default; a resource whose
 * guest this login cannot see is placed nowhere).
 */
import type { PveClient } from '../../transport/pve/client.js';
import type { GuestResource, HaResource } from '../../transport/pve/types.js';
import { readGuests } from './guests.js';

/** The HA service id of a guest: `vm:101`, `ct:200`. */
export function haSid(g: { readonly type?: string; readonly vmid: number }): string {
  return `${g.type === 'lxc' ? 'ct' : 'vm'}:${g.vmid}`;
}

const started = (h: HaResource): boolean => h.state === undefined || h.state === 'started';

/** Whether any HA resource of the cluster is started (HA nodes without quorum self-fence). */
export function anyHaStarted(ha: readonly HaResource[]): boolean {
  return ha.some(started);
}

/** Started HA resources per node, in the HA list's order. */
export function startedHaByNode(ha: readonly HaResource[], guests: readonly GuestResource[]): Record<string, string[]> {
  const where = new Map(guests.map((g) => [haSid(g), g.node]));
  const out: Record<string, string[]> = {};
  for (const h of ha) {
    const node = where.get(h.sid);
    if (started(h) && node !== undefined) (out[node] ??= []).push(h.sid);
  }
  return out;
}

/** Both reads, then the started HA resources on `node`. */
export async function readStartedHaOn(api: Pick<PveClient, 'haResources' | 'guests'>, node: string): Promise<string[]> {
  const [ha, guests] = await Promise.all([api.haResources(), readGuests(api)]);
  return startedHaByNode(ha, guests)[node] ?? [];
}
