/**
 * Fact: the guests of a cluster, where they run and whether they run.
 *
 * API read: GET /cluster/resources?type=vm (validated by the transport's
 * shape): every VM and container this login may audit, e.g.
 *   [{ vmid: 101, node: 'pve1', type: 'qemu', status: 'running', tags: 'gpu' }, …]
 * A failed read throws, never reads as "no guests" (running guests are a
 * safety input of the reboot gate). A guest the login may not audit is not
 * listed; plan-vms tells "missing" from "not visible" by asking for its config.
 * Every engine read of the guest list goes through here (plan and verify of
 * VMs, the reboot gate, selection by tag, HA placement).
 */
import type { PveClient } from '../../transport/pve/client.js';
import type { GuestResource } from '../../transport/pve/types.js';

export type { GuestResource };

export function readGuests(api: Pick<PveClient, 'guests'>): Promise<GuestResource[]> {
  return api.guests();
}
