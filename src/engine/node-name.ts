/**
 * The node name of a --host node given without --node-name: the host's own
 * `hostname` (its first label, as PVE names nodes), read over SSH, and, when
 * the cluster API is given, checked against the cluster's node list.
 */
import { InputError } from '../errors.js';
import { hostnameScript, parseHostname } from '../facts/host/hostname.js';
import type { Inventory } from '../inventory/schema.js';
import { withContext, type EngineOptions } from './context.js';

export type HostNodeName = { readonly nodeName: string } | { readonly unreadable: string };

/** `inv`: a one-node flags inventory (its node's name is a placeholder). Throws when the API lists other nodes. */
export async function nodeNameFromHost(inv: Inventory, options: EngineOptions): Promise<HostNodeName> {
  const cluster = inv.clusters[0]!;
  const node = cluster.nodes[0]!;
  return withContext(inv, { ...options, selection: {} }, async (ctx) => {
    let read: ReturnType<typeof parseHostname>;
    try {
      const host = await ctx.conn.ssh(cluster, node);
      const r = await host.exec(hostnameScript());
      read = r.code === 0 ? parseHostname(r.stdout) : { problem: `hostname exited ${r.code}: ${r.stderr.trim().slice(0, 120)}` };
    } catch (err) {
      return { unreadable: (err as Error).message };
    }
    if ('problem' in read) return { unreadable: read.problem };
    const api = cluster.api ? await ctx.conn.api(cluster) : null;
    if (api) {
      const names = (await api.nodes()).map((n) => n.node).sort();
      if (!names.includes(read.nodeName)) {
        throw new InputError(`--host ${node.ssh.host}: its hostname is ${read.nodeName}, which is not a node of the cluster at ${cluster.api!.url} (its nodes: ${names.join(', ') || 'none this login may see'})`, [], {
          fix: '--node-name NAME with the node\'s name from that list, or --api of the cluster this host belongs to',
        });
      }
    }
    return { nodeName: read.nodeName };
  });
}
