/**
 * apply: execute a plan. Per cluster, nodes that need no reboot go in
 * parallel; nodes that reboot go through a gate that re-checks quorum before
 * each reboot and never has more nodes down than the budget allows. After a
 * reboot a node must come back with a new boot_id and pass verification
 * before the next one goes. The first failures (policy.maxFailures) stop that
 * cluster's rollout; other clusters go on. VM and mapping steps run after the
 * nodes they depend on.
 */
import PQueue from 'p-queue';
import type { Cluster, Inventory, Node } from '../inventory/schema.js';
import { RunError, SafetyError } from '../errors.js';
import type { Check } from '../operations/types.js';
import { verifyHost } from '../operations/host/verify-host.js';
import { effectiveRebootPolicy, withContext, type EngineContext, type EngineOptions } from './context.js';
import { errorInfo } from './errors.js';
import { applyHostSteps, describeChange, run, withNodeLock } from './host-apply.js';
import { readFacts } from './node-facts.js';
import { planFromFacts, planWith } from './plan.js';
import { createHash } from 'node:crypto';
import { REFRESH_PENDING_FILE } from '../facts/host/script.js';
import { atomicWrite, removeFile } from '../transport/shell.js';
import { RebootGate } from './reboot-gate.js';
import { nodeDifferences, PLAN_VS_NOW, replanSaved } from './saved-plan.js';
import { acquireLeases, type RunLease } from './lease.js';
import { applyClusterVms } from './apply-vms.js';
import type { ApplyNodeResult, ApplyReport, ApplyVmResult, ClusterPlan, NodePlan, Plan } from './types.js';
import { ErrorCode } from '../error-codes.js';

export interface ApplyOptions extends EngineOptions {
  /** A saved plan: reviewed intent. It is planned again and applied only when the fresh plan equals it (replanSaved). */
  readonly plan?: Plan;
}

/** Library entry point: plan (or check the given plan against a fresh one), apply, verify each node, close connections. */
export async function apply(inventory: Inventory, options: ApplyOptions = {}): Promise<ApplyReport> {
  return withContext(inventory, options, async (ctx) => applyWith(ctx, options.plan ? await replanSaved(ctx, options.plan) : await planWith(ctx)));
}

export async function applyWith(ctx: EngineContext, plan: Plan): Promise<ApplyReport> {
  const startedAt = ctx.now().toISOString();
  ctx.emit({ type: 'phase', phase: 'apply', message: `applying run ${ctx.runId}` });
  const results = await Promise.all(
    plan.clusters.map((cp) => {
      const cluster = ctx.inventory.clusters.find((c) => c.name === cp.name);
      if (!cluster) throw new SafetyError(ErrorCode.PLAN_MISMATCH, `the plan names cluster "${cp.name}", which is not in the inventory`, { fix: 'make a new plan from this inventory' });
      return applyCluster(ctx, cluster, cp);
    }),
  );
  const nodes = results.flatMap((r) => r.nodes);
  const vms = results.flatMap((r) => r.vms);
  const mappings = results.flatMap((r) => r.mappings);
  const ok = nodes.every((n) => n.outcome === 'applied' || n.outcome === 'unchanged')
    && vms.every((v) => v.outcome === 'applied' || v.outcome === 'unchanged' || v.outcome === 'pending')
    && mappings.every((m) => m.outcome === 'applied' || m.outcome === 'unchanged');
  return { version: 1, runId: ctx.runId, startedAt, finishedAt: ctx.now().toISOString(), nodes, vms, mappings, ok, next: nextSteps(nodes, vms, ctx.runId) };
}

interface ClusterResult {
  nodes: ApplyNodeResult[];
  vms: ApplyVmResult[];
  mappings: ApplyReport['mappings'][number][];
}

async function applyCluster(ctx: EngineContext, cluster: Cluster, cp: ClusterPlan): Promise<ClusterResult> {
  const gate = new RebootGate(ctx, cluster);
  const byName = new Map(cluster.nodes.map((n) => [n.name, n]));
  const results = new Map<string, ApplyNodeResult>();
  let failures = 0;
  let stopped: string | null = null;

  const runNode = async (np: NodePlan): Promise<void> => {
    const node = byName.get(np.node);
    if (!node) return;
    if (stopped) {
      results.set(np.node, skipped(np, `skipped: ${stopped}`));
      ctx.emit({ type: 'node', cluster: cluster.name, node: np.node, status: 'skipped', message: stopped });
      return;
    }
    const r = await applyNode(ctx, cluster, node, np, gate);
    results.set(np.node, r);
    if (r.outcome === 'failed' || r.outcome === 'refused') {
      failures++;
      if (failures >= cluster.policy.maxFailures && !stopped) {
        stopped = `the rollout of cluster ${cluster.name} stopped after ${np.node} failed`;
        gate.stop(stopped);
      }
    }
  };

  const withWork = cp.nodes.filter((n) => n.steps.length > 0 || n.refused.length > 0 || n.error);
  const never = effectiveRebootPolicy(ctx, cluster) === 'never';
  for (const n of cp.nodes.filter((x) => !withWork.includes(x))) {
    const waiting = never && n.rebootReasons.length > 0;
    results.set(n.node, {
      cluster: cluster.name, node: n.node, outcome: 'unchanged', stepsDone: 0, rebooted: false, checks: [],
      ...(waiting ? { rebootPending: true, message: `nothing to write; reboot pending: ${n.rebootReasons.join('; ')}` } : { message: 'nothing to do' }),
    });
  }

  // The run lease, before the first write; released once every node is back, verified, and the VMs are done.
  const hostWork = withWork.filter((n) => n.steps.length > 0).flatMap((n) => byName.get(n.node) ?? []);
  const vmWork = cp.vms.some((v) => v.changes.length > 0 || v.power === 'restart') || cp.mappings.length > 0;
  let leases: RunLease[] = [];
  if (hostWork.length > 0 || vmWork) {
    try {
      leases = await acquireLeases(ctx, cluster, hostWork, gate);
    } catch (err) {
      const error = errorInfo(err, 'lease');
      for (const n of withWork) {
        ctx.emit({ type: 'node', cluster: cluster.name, node: n.node, status: 'failed', message: error.message });
        results.set(n.node, { cluster: cluster.name, node: n.node, outcome: 'failed', stepsDone: 0, rebooted: false, message: error.message, checks: [], error });
      }
      const vms = cp.vms.map((v) => ({ cluster: cluster.name, node: v.node, vmid: v.vmid, outcome: v.changes.length > 0 || v.power === 'restart' ? 'skipped' as const : 'unchanged' as const, message: v.changes.length > 0 || v.power === 'restart' ? `skipped: ${error.message}` : 'nothing to do' }));
      return { nodes: cp.nodes.map((n) => results.get(n.node)!), vms, mappings: [] };
    }
  }

  try {
    // Canary first, alone; the others follow only if it verified.
    const canary = withWork.find((n) => n.node === cluster.policy.canary);
    if (canary) await runNode(canary);
    const rest = withWork.filter((n) => n !== canary);
    const queue = new PQueue({ concurrency: ctx.concurrency });
    await Promise.all(rest.map((n) => queue.add(() => runNode(n))));

    const nodeResults = cp.nodes.map((n) => results.get(n.node)!).filter(Boolean);
    const okNodes = new Set(nodeResults.filter((r) => r.outcome === 'applied' || r.outcome === 'unchanged').map((r) => r.node));
    const vmPart = await applyClusterVms(ctx, cluster, cp, okNodes);
    return { nodes: nodeResults, vms: vmPart.vms, mappings: vmPart.mappings };
  } finally {
    await Promise.all(leases.map((l) => l.release()));
  }
}

/**
 * Under the node lock, before anything is written: read the facts again and
 * plan the node again; anything that changed since the plan (another run,
 * an operator) refuses the node, with the file diff. applyHostSteps then
 * checks each target's bytes against the plan (compare-and-swap).
 */
async function assertUnchangedSincePlan(ctx: EngineContext, cluster: Cluster, node: Node, np: NodePlan): Promise<void> {
  const facts = await readFacts(ctx, cluster, node);
  const problems: string[] = [];
  for (const s of np.steps) {
    if (s.kind !== 'write-file' && s.kind !== 'remove-file') continue;
    const now = facts.files[s.path]?.content ?? null;
    if (now !== s.before) problems.push(`${s.path}: ${describeChange(s.before, now)}`);
  }
  if (problems.length === 0) problems.push(...nodeDifferences(np, planFromFacts(ctx, cluster, node, facts), PLAN_VS_NOW));
  if (problems.length > 0) {
    throw new SafetyError(ErrorCode.CHANGED_SINCE_PLAN, `changed since the plan, so nothing was written on this node: ${problems.join('; ')}`, {
      node: node.name, step: 'compare-and-swap', fix: 'someone else changed the node: run plan again, review it, then apply',
    });
  }
}

function skipped(np: NodePlan, message: string): ApplyNodeResult {
  return { cluster: np.cluster, node: np.node, outcome: 'skipped', stepsDone: 0, rebooted: false, message, checks: [] };
}

/**
 * After the node's steps: verify it. With --reboot never, checks that only a
 * pending reboot explains leave it applied with the reboot pending; any other
 * failing check fails the node.
 */
async function verifiedResult(ctx: EngineContext, cluster: Cluster, node: Node, np: NodePlan, emit: (status: 'wait' | 'done' | 'failed', message: string) => void, done: { stepsDone: number; rebooted: boolean }): Promise<ApplyNodeResult> {
  const base = { cluster: cluster.name, node: node.name };
  const { stepsDone, rebooted } = done;
  emit('wait', 'verifying');
  const facts = await readFacts(ctx, cluster, node);
  const checks: Check[] = verifyHost(node, facts, { runId: ctx.runId });
  const failed = checks.filter((c) => c.status === 'fail');
  if (failed.length > 0 && effectiveRebootPolicy(ctx, cluster) === 'never' && onlyWaitingForReboot(failed)) {
    // The user keeps the reboot: the files are right, the running system catches up at the next boot.
    const pending = failed.find((c) => c.id === 'reboot-pending')!.message;
    emit('done', `applied; reboot pending (${pending})`);
    return { ...base, outcome: 'applied', stepsDone, rebooted, rebootPending: true, message: `applied ${stepsDone} step(s); reboot pending: ${pending}`, checks };
  }
  if (failed.length > 0) {
    const message = `verification failed: ${failed.map((c) => `${c.id} (${c.message})`).join('; ')}`;
    emit('failed', message);
    return { ...base, outcome: 'failed', stepsDone, rebooted, message, checks, error: { code: ErrorCode.VERIFY, message, step: 'verify' } };
  }
  const refusedNote = np.refused.length ? `; refused: ${np.refused.map((r) => `${r.subject} (${r.reason})`).join('; ')}` : '';
  emit('done', `applied and verified${rebooted ? ' after reboot' : ''}`);
  return { ...base, outcome: np.refused.length ? 'refused' : 'applied', stepsDone, rebooted, message: `applied ${stepsDone} step(s) and verified${refusedNote}`, checks };
}

async function applyNode(ctx: EngineContext, cluster: Cluster, node: Node, np: NodePlan, gate: RebootGate): Promise<ApplyNodeResult> {
  const base = { cluster: cluster.name, node: node.name };
  const emit = (status: 'start' | 'step' | 'reboot' | 'wait' | 'done' | 'failed', message: string) => ctx.emit({ type: 'node', ...base, status, message });
  if (np.error) return { ...base, outcome: 'failed', stepsDone: 0, rebooted: false, message: np.error.message, checks: [], error: np.error };
  if (np.refused.length > 0 && np.steps.length === 0) {
    return { ...base, outcome: 'refused', stepsDone: 0, rebooted: false, message: np.refused.map((r) => `${r.subject}: ${r.reason}`).join('; '), checks: [] };
  }
  emit('start', `${np.steps.length} step(s)`);
  let stepsDone = 0;
  let rebooted = false;
  // Set before the enable is sent, so a failure between enable and verification still disables it.
  let haMaintenance = false;
  try {
    const host = await ctx.conn.logged(cluster, node);
    const steps = np.steps;
    const fileAndRefresh = steps.filter((s) => s.kind !== 'reboot' && s.kind !== 'leave-ha-maintenance');
    const leave = steps.find((s) => s.kind === 'leave-ha-maintenance');
    const reboot = steps.find((s) => s.kind === 'reboot');
    // Maintenance a dead run left: before a reboot this run keeps it (HA moved the resources away; ending it
    // first would bring them back just before the reboot) and ends it after verification.
    const adopted = leave !== undefined && reboot !== undefined;
    if (leave && !adopted) {
      emit('step', `end the HA maintenance left by run ${leave.run}`);
      await gate.leaveHaMaintenance(node);
      stepsDone++;
    }
    const writeAndRefresh = async () => {
      if (fileAndRefresh.length === 0) return;
      await withNodeLock(host, async () => {
        await assertUnchangedSincePlan(ctx, cluster, node, np);
        // Until the refreshes ran, a stopped run must leave a trace the next plan sees (withPendingRefresh).
        const refreshes = fileAndRefresh.flatMap((s) => (s.kind === 'refresh' ? [s.command] : []));
        const marker = refreshes.map((c) => `${c}\n`).join('');
        if (marker) await run(host, atomicWrite(REFRESH_PENDING_FILE, { mode: '0600', uid: 0, gid: 0, sha256: createHash('sha256').update(marker).digest('hex') }), 'mark the refresh pending', marker);
        const r = await applyHostSteps(host, fileAndRefresh, { runId: ctx.runId, now: ctx.now, signal: ctx.signal, refreshTimeoutMs: cluster.policy.refreshTimeoutSeconds * 1000, onStep: (m) => emit('step', m) });
        stepsDone += r.stepsDone;
        if (marker) await run(host, removeFile(REFRESH_PENDING_FILE), 'clear the refresh marker');
      }, { runId: ctx.runId, deadRuns: ctx.deadRuns });
    };
    if (reboot) {
      // Take the reboot slot before writing anything, so a stopped rollout leaves this node untouched.
      await gate.withSlot(node, (m) => emit('wait', m), async () => {
        // The guest decision comes before the first write: a refusal leaves the node untouched.
        await gate.checkGuests(node);
        await gate.checkHaMaintenance(node);
        await writeAndRefresh();
        if (ctx.signal?.aborted) throw new RunError(ErrorCode.INTERRUPTED, 'interrupted before the reboot; the files are written, the reboot is pending', { node: node.name, fix: 're-run apply to reboot and verify' });
        haMaintenance = true;
        if (adopted) await gate.markHaMaintenance(node);
        haMaintenance = (await gate.enterHaMaintenance(node, (m) => emit('wait', m))) || adopted;
        await gate.reboot(node, (m) => emit('reboot', m));
        rebooted = true;
        stepsDone++;
      });
    } else {
      await writeAndRefresh();
    }
    return await verifiedResult(ctx, cluster, node, np, emit, { stepsDone, rebooted });
  } catch (err) {
    const error = errorInfo(err);
    emit('failed', error.message);
    return { ...base, outcome: 'failed', stepsDone, rebooted, message: error.message, checks: [], error };
  } finally {
    if (haMaintenance) {
      await gate.leaveHaMaintenance(node).then(
        () => emit('step', 'HA maintenance disabled'),
        (err: unknown) => ctx.emit({ type: 'warning', subject: `node ${node.name}`, message: `the node is still in HA maintenance: ${errorInfo(err).message}; run \`ha-manager crm-command node-maintenance disable ${node.name}\`` }),
      );
    }
  }
}

/**
 * Checks of the running system that a pending reboot explains, as long as
 * verify itself says a reboot is pending; anything else failing (the written
 * config, group isolation, a sibling's driver) is a real failure.
 */
const WAITS_FOR_REBOOT = /^(reboot-pending|iommu-active|interrupt-remapping|vfio-modules|vfio-disable-vga-running|cmdline-token:.*|device-bound:.*)$/;
function onlyWaitingForReboot(failed: readonly Check[]): boolean {
  return failed.some((c) => c.id === 'reboot-pending') && failed.every((c) => WAITS_FOR_REBOOT.test(c.id));
}

function nextSteps(nodes: readonly ApplyNodeResult[], vms: readonly ApplyVmResult[], runId: string): string[] {
  const next: string[] = [];
  const waiting = nodes.filter((n) => n.rebootPending);
  if (waiting.length) next.push(`reboot ${waiting.map((n) => `${n.cluster}/${n.node}`).join(', ')} when it suits you (the reboot policy is "never"), then run verify`);
  for (const n of nodes) {
    if (n.outcome === 'failed') {
      if (n.error?.code === ErrorCode.REBOOT_TIMEOUT) next.push(`${n.cluster}/${n.node}: did not come back from its reboot — check its console/BMC; once it is up, run verify, then apply again`);
      else next.push(`${n.cluster}/${n.node}: ${n.error?.fix ?? 'fix the cause above'}; then re-run apply (it resumes from the facts).${n.stepsDone > 0 ? ` To undo this run's file changes: pve-passthrough rollback --node ${n.node} --run ${runId}` : ''}`);
    }
    if (n.outcome === 'skipped') next.push(`${n.cluster}/${n.node}: not touched because its cluster's rollout stopped; re-run apply after fixing the failed node`);
    if (n.outcome === 'refused') next.push(`${n.cluster}/${n.node}: some items were refused for safety; see the plan for the reasons`);
  }
  for (const v of vms) {
    if (v.outcome === 'pending') next.push(`${v.cluster}/VM ${v.vmid}: the change is pending until the VM is stopped and started again`);
    if (v.outcome === 'failed') next.push(`${v.cluster}/VM ${v.vmid}: ${v.error?.fix ?? v.message}`);
  }
  return next;
}
