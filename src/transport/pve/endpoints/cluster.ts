/** Cluster-wide reads: version, membership and quorum, guests, HA resources, nodes. */
import type { PveCore } from '../core.js';
import { ClusterStatusShape, GuestResourcesShape, HaResourcesShape, NodesShape, VersionShape } from '../schemas.js';
import type { ClusterStatusItem, GuestResource, HaResource, NodeListItem, PveVersion } from '../types.js';

/** GET /version. */
export function version(api: PveCore): Promise<PveVersion> {
  return api.read('/version', VersionShape);
}

/** GET /cluster/status: the cluster entry (quorate) and one entry per node (online). A safety input of the reboot gate. */
export function clusterStatus(api: PveCore): Promise<ClusterStatusItem[]> {
  return api.read('/cluster/status', ClusterStatusShape);
}

/** GET /cluster/resources?type=vm: every guest this login may audit, with its node and power state. A safety input (running guests block a reboot). */
export function guests(api: PveCore): Promise<GuestResource[]> {
  return api.read('/cluster/resources', GuestResourcesShape, { query: { type: 'vm' } });
}

/** GET /cluster/ha/resources: a safety input (started HA resources need HA maintenance before a reboot). */
export function haResources(api: PveCore): Promise<HaResource[]> {
  return api.read('/cluster/ha/resources', HaResourcesShape);
}

/** GET /nodes. */
export function nodes(api: PveCore): Promise<NodeListItem[]> {
  return api.read('/nodes', NodesShape);
}
