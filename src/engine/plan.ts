/**
 * plan: gather facts for every selected node and VM concurrently and compute
 * what would change. Reads only; nothing on a host or in the API is written.
 */
import PQueue from 'p-queue';
import { errorInfo, settleAll } from './errors.js';
import type { Cluster, Node } from '../inventory/schema.js';
import type { HostFacts } from '../facts/host/types.js';
import type { HostStep } from '../operations/types.js';
import { inventoryDigest, resolveSelection, withContext, selectedClusters, selectedNodes, type EngineContext, type EngineOptions } from './context.js';
import { planClusterVms, type HostFactsSource } from './plan-vms.js';
import type { VmHostContext } from '../operations/vm/types.js';
import { planHost } from '../operations/host/plan-host.js';
import { factsFingerprint } from '../facts/host/gather.js';
import { readFacts } from './node-facts.js';
import { REFRESH_PENDING_FILE } from '../facts/host/script.js';
import { leaveHaMaintenanceSteps } from '../operations/host/ha-maintenance.js';
import type { ClusterPlan, NodePlan, Plan } from './types.js';
import { RebootGate } from './reboot-gate.js';
import type { Inventory } from '../inventory/schema.js';

export interface NodeFactsResult {
  readonly plan: NodePlan;
  readonly facts: HostFacts | null;
}

/** Library entry point: plan the whole (selected) inventory and close connections. */
export async function plan(inventory: Inventory, options: EngineOptions = {}): Promise<Plan> {
  return withContext(inventory, options, planWith);
}

export async function planWith(ctx: EngineContext): Promise<Plan> {
  ctx.emit({ type: 'phase', phase: 'facts', message: 'gathering facts' });
  await resolveSelection(ctx);
  const clusters = await settleAll(selectedClusters(ctx).map((c) => planCluster(ctx, c)));
  return {
    version: 1,
    runId: ctx.runId,
    createdAt: ctx.now().toISOString(),
    inventoryDigest: inventoryDigest(ctx.inventory),
    clusters,
  };
}

async function planCluster(ctx: EngineContext, cluster: Cluster): Promise<ClusterPlan> {
  const queue = new PQueue({ concurrency: ctx.concurrency });
  // Each node's facts are read once: by its own plan, or (for a node that is not selected but hosts
  // a VM or a mapping entry) only for the VM-side host-safety check.
  const facts = new Map<string, Promise<VmHostContext | null>>();
  const nodesP = settleAll(selectedNodes(ctx, cluster).map((n) => {
    const p = queue.add(() => planNode(ctx, cluster, n));
    facts.set(n.name, p.then((r) => hostContext(n, r.facts, r.plan.error?.message)));
    return p;
  }));
  const hostFacts: HostFactsSource = (name) => {
    const known = facts.get(name);
    if (known) return known;
    const node = cluster.nodes.find((n) => n.name === name);
    const p: Promise<VmHostContext | null> = node
      ? queue.add(() => readFacts(ctx, cluster, node)).then((f) => hostContext(node, f), (err: unknown) => hostContext(node, null, errorInfo(err, 'facts').message))
      : Promise.resolve(null);
    facts.set(name, p);
    return p;
  };
  const vmsP = planClusterVms(ctx, cluster, hostFacts);
  const [nodes, vms] = await settleAll<unknown>([nodesP, vmsP]) as [NodeFactsResult[], Awaited<typeof vmsP>];
  const warnings = [...vms.warnings, ...(await rebootOutlook(ctx, cluster, nodes.map((n) => n.plan)))];
  return { name: cluster.name, nodes: nodes.map((n) => n.plan), vms: vms.vms, mappings: vms.mappings, warnings };
}

function hostContext(node: Node, facts: HostFacts | null, error?: string): VmHostContext {
  return { node, facts, ...(error !== undefined ? { error } : {}) };
}

export async function planNode(ctx: EngineContext, cluster: Cluster, node: Node): Promise<NodeFactsResult> {
  ctx.emit({ type: 'node', cluster: cluster.name, node: node.name, status: 'start', message: 'reading facts' });
  try {
    const facts = await readFacts(ctx, cluster, node);
    const plan = planFromFacts(ctx, cluster, node, facts);
    ctx.emit({ type: 'node', cluster: cluster.name, node: node.name, status: 'done', message: describeNodePlan(plan) });
    return { plan, facts };
  } catch (err) {
    const error = errorInfo(err, 'facts');
    ctx.emit({ type: 'node', cluster: cluster.name, node: node.name, status: 'failed', message: error.message });
    return {
      plan: { cluster: cluster.name, node: node.name, factsFingerprint: null, bootId: null, bootLoader: null, kernel: null, steps: [], refused: [], warnings: [], rebootReasons: [], error },
      facts: null,
    };
  }
}

/** Pure: the node's plan from its facts and the cluster's reboot policy. */
export function planFromFacts(ctx: Pick<EngineContext, 'rebootOverride'> & Partial<Pick<EngineContext, 'runId'>>, cluster: Cluster, node: Node, facts: HostFacts): NodePlan {
  const policy = ctx.rebootOverride ?? cluster.policy.reboot;
  // "always" means the user asked for the reboot: bind at boot rather than live.
  const r = planHost(node, facts, { liveBind: policy !== 'always', ...(ctx.runId !== undefined ? { runId: ctx.runId } : {}) });
  const steps: HostStep[] = [...leaveHaMaintenanceSteps(facts), ...withPendingRefresh(r.steps, facts.files[REFRESH_PENDING_FILE]?.content ?? null)];
  const reasons = [...r.rebootReasons];
  const warnings = [...r.warnings];
  if (policy === 'always' && steps.length > 0 && reasons.length === 0) reasons.push('asked for: the reboot policy is "always"');
  if (reasons.length > 0) {
    if (policy === 'never') warnings.push({ subject: `node ${node.name}`, message: `a reboot is needed (${reasons.join('; ')}) but the reboot policy is "never": verify will report it pending` });
    else steps.push({ kind: 'reboot', reasons });
  }
  return {
    cluster: cluster.name,
    node: node.name,
    factsFingerprint: factsFingerprint(facts),
    bootId: facts.bootId,
    bootLoader: facts.bootLoader.kind + (facts.bootLoader.proxmoxBootTool ? ' (proxmox-boot-tool)' : ''),
    kernel: facts.kernel.next,
    steps,
    refused: r.refused,
    warnings,
    // Kept under "never" too: apply reports those nodes as waiting for the reboot the user keeps.
    rebootReasons: reasons,
    ...(r.kept ? { kept: r.kept } : {}),
  };
}

function describeNodePlan(p: NodePlan): string {
  if (p.steps.length === 0 && p.refused.length === 0) return 'nothing to do';
  const parts = [`${p.steps.length} step${p.steps.length === 1 ? '' : 's'}`];
  if (p.refused.length) parts.push(`${p.refused.length} refused`);
  return parts.join(', ');
}

const REFRESH_ORDER: readonly Extract<HostStep, { kind: 'refresh' }>['command'][] = ['update-initramfs', 'update-grub', 'proxmox-boot-tool-refresh'];

/**
 * A run that was stopped between its writes and its refreshes left
 * REFRESH_PENDING_FILE: the files already say what they should, but what
 * boots does not follow them yet, so those refreshes are planned again
 * (merged with any the plan has anyway, in their fixed order). Pure.
 */
export function withPendingRefresh(planned: readonly HostStep[], pending: string | null): HostStep[] {
  const wanted = new Set((pending ?? '').split('\n').map((l) => l.trim()).filter((l): l is (typeof REFRESH_ORDER)[number] => (REFRESH_ORDER as readonly string[]).includes(l)));
  if (wanted.size === 0) return [...planned];
  const refresh = new Map(planned.flatMap((s) => (s.kind === 'refresh' ? [[s.command, s] as const] : [])));
  for (const c of wanted) if (!refresh.has(c)) refresh.set(c, { kind: 'refresh', command: c, reason: 'a previous run wrote the boot files and was stopped before this refresh' });
  const before = planned.filter((s) => s.kind === 'write-file' || s.kind === 'remove-file');
  const after = planned.filter((s) => s.kind !== 'write-file' && s.kind !== 'remove-file' && s.kind !== 'refresh');
  return [...before, ...REFRESH_ORDER.flatMap((c) => refresh.get(c) ?? []), ...after];
}

/**
 * Say up front when apply's reboot gate would refuse the planned reboots
 * (a one- or two-vote cluster, a node down, no quorum): the same reading and
 * arithmetic the gate uses, with nothing held.
 */
async function rebootOutlook(ctx: EngineContext, cluster: Cluster, plans: readonly NodePlan[]): Promise<{ subject: string; message: string }[]> {
  const rebooting = plans.filter((p) => p.steps.some((s) => s.kind === 'reboot'));
  const node = cluster.nodes.find((n) => n.name === rebooting[0]?.node);
  if (!node) return [];
  try {
    const budget = await new RebootGate(ctx, cluster).budgetNow(node);
    if (budget.allowed > 0) return [];
    return [{ subject: `cluster ${cluster.name}`, message: `apply will refuse to reboot ${rebooting.map((p) => p.node).join(', ')} (nothing is written on a node whose reboot is refused): ${budget.reason}` }];
  } catch (err) {
    return [{ subject: `cluster ${cluster.name}`, message: `could not read quorum, so whether apply may reboot is not known yet: ${err instanceof Error ? err.message : String(err)}` }];
  }
}
