/**
 * verify: read-only compliance. The same checks as apply's gate, plus VM
 * config compliance. Never writes anything anywhere.
 */
import PQueue from 'p-queue';
import type { Inventory } from '../inventory/schema.js';
import { verifyHost } from '../operations/host/verify-host.js';
import { resolveSelection, selectedClusters, selectedNodes, withContext, type EngineContext, type EngineOptions } from './context.js';
import { errorInfo, settleAll } from './errors.js';
import { readFacts } from './node-facts.js';
import { checkedStatus } from './check-status.js';
import { verifyClusterVms } from './plan-vms.js';
import type { ClusterVerification, NodeVerification, VerifyReport, VmVerification } from './types.js';

export async function verify(inventory: Inventory, options: EngineOptions = {}): Promise<VerifyReport> {
  return withContext(inventory, options, verifyWith);
}

export async function verifyWith(ctx: EngineContext): Promise<VerifyReport> {
  ctx.emit({ type: 'phase', phase: 'verify', message: 'verifying' });
  await resolveSelection(ctx);
  const queue = new PQueue({ concurrency: ctx.concurrency });
  const nodeJobs: Promise<NodeVerification>[] = [];
  const vmJobs: Promise<{ vms: VmVerification[]; cluster: ClusterVerification | null }>[] = [];
  for (const cluster of selectedClusters(ctx)) {
    for (const node of selectedNodes(ctx, cluster)) {
      nodeJobs.push(queue.add(async (): Promise<NodeVerification> => {
        try {
          const facts = await readFacts(ctx, cluster, node);
          const checks = verifyHost(node, facts);
          ctx.emit({ type: 'node', cluster: cluster.name, node: node.name, ...checkedStatus(checks) });
          return { cluster: cluster.name, node: node.name, checks };
        } catch (err) {
          const error = errorInfo(err, 'facts');
          ctx.emit({ type: 'node', cluster: cluster.name, node: node.name, status: 'failed', message: error.message });
          return { cluster: cluster.name, node: node.name, checks: [], error };
        }
      }));
    }
    vmJobs.push(verifyClusterVms(ctx, cluster));
  }
  const nodesP = settleAll(nodeJobs);
  const vmsP = settleAll(vmJobs);
  const [nodes, vmParts] = await settleAll<unknown>([nodesP, vmsP]) as [NodeVerification[], Awaited<typeof vmsP>];
  const vms = vmParts.flatMap((p) => p.vms);
  const clusters = vmParts.map((p) => p.cluster).filter((c): c is ClusterVerification => c !== null);
  return { version: 1, runId: ctx.runId, checkedAt: ctx.now().toISOString(), nodes, vms, clusters, verdict: verdictOf([...nodes, ...vms, ...clusters]) };
}

/** Compliant needs at least one check that passed: nothing checked is never compliant. */
export function verdictOf(all: readonly { checks: readonly { status: string }[]; error?: unknown }[]): VerifyReport['verdict'] {
  if (all.some((x) => x.error)) return 'error';
  if (!all.some((x) => x.checks.some((c) => c.status === 'pass'))) return 'error';
  if (all.some((x) => x.checks.some((c) => c.status === 'fail'))) return 'drift';
  return 'compliant';
}
