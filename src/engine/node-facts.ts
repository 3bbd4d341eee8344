/**
 * The engine's one way to read a node's host facts: the connection it keeps
 * for the node, the address SSH reached (the management NIC holds it), then
 * the facts unit (src/facts/host/gather.ts: one batched exec, pure parsers).
 * plan, verify, devices, apply and rollback all read through here.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { gatherHostFacts } from '../facts/host/gather.js';
import type { HostFacts } from '../facts/host/types.js';
import type { Cluster, Node } from '../inventory/schema.js';
import type { EngineContext } from './context.js';

export async function readFacts(ctx: EngineContext, cluster: Cluster, node: Node): Promise<HostFacts> {
  const host = await ctx.conn.logged(cluster, node);
  // The address actually connected to (after ssh_config HostName), which the management NIC holds.
  const hostName = (await ctx.conn.ssh(cluster, node)).hostName;
  return gatherHostFacts(host, { nonce: ctx.nonce(), connectedAddress: await addressOf(hostName) });
}

/** The IP the tool reaches the node at: the management NIC holds it. */
async function addressOf(host: string): Promise<string | undefined> {
  const bare = host.replace(/^\[|\]$/g, '');
  if (isIP(bare)) return bare;
  try {
    return (await lookup(bare)).address;
  } catch {
    return undefined;
  }
}
