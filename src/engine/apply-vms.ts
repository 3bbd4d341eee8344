/**
 * The API side of apply for one cluster, after its nodes: first the PCI
 * mappings (planned again now, because a node that just got its IOMMU
 * reports new groups), then each VM whose node is fine. A digest conflict
 * re-plans that VM once (inside applyVmPlan).
 */
import type { Cluster } from '../inventory/schema.js';
import type { PveClient } from '../transport/pve/client.js';
import { applyVmPlan } from './apply-vm.js';
import { planVm } from '../operations/vm/plan-vm.js';
import type { EngineContext } from './context.js';
import { errorInfo } from './errors.js';
import { readVmCurrent } from '../facts/vm/vm-config.js';
import { planMappingActions } from './plan-vms.js';
import type { ApplyReport, ApplyVmResult, ClusterPlan, VmPlan } from './types.js';

type MappingResult = ApplyReport['mappings'][number];

export async function applyClusterVms(ctx: EngineContext, cluster: Cluster, cp: ClusterPlan, okNodes: ReadonlySet<string>): Promise<{ vms: ApplyVmResult[]; mappings: MappingResult[] }> {
  const hasVmWork = cp.vms.some((v) => v.changes.length > 0 || v.power === 'restart' || v.error || v.refused.length);
  if (!hasVmWork && cp.mappings.length === 0) return { vms: cp.vms.map((v) => unchanged(v)), mappings: [] };
  const api = await ctx.conn.api(cluster);
  if (!api) return { vms: [], mappings: [] };
  const mappings = cp.mappings.length > 0 ? await applyMappings(api, cluster, cp) : [];
  const mappingsOk = mappings.every((m) => m.outcome === 'applied' || m.outcome === 'unchanged');
  const vms: ApplyVmResult[] = [];
  for (const v of cp.vms) vms.push(await applyVm(ctx, api, cluster, v, okNodes, mappingsOk));
  return { vms, mappings };
}

/** The cluster's PCI mappings, planned again now; only what the plan kept is written. */
async function applyMappings(api: PveClient, cluster: Cluster, cp: ClusterPlan): Promise<MappingResult[]> {
  const mappings: MappingResult[] = [];
  try {
    const m = await planMappingActions(api, cluster);
    for (const r of m.refused) mappings.push({ cluster: cluster.name, id: r.subject.replace(/^mapping /, ''), outcome: 'refused', message: r.reason });
    // Only what the plan kept: a mapping refused there (host safety) is never written.
    const planned = new Set(cp.mappings.map((p) => p.id));
    for (const a of m.actions) {
      if (!planned.has(a.id)) {
        mappings.push({ cluster: cluster.name, id: a.id, outcome: 'refused', message: 'refused when planned (see the plan\'s warnings for the reason)' });
        continue;
      }
      const flags = a.kind === 'none' ? {} : { mdev: a.mdev, 'live-migration-capable': a['live-migration-capable'] };
      if (a.kind === 'create') await api.createPciMapping({ id: a.id, map: a.map, description: a.description, ...flags });
      if (a.kind === 'update') await api.updatePciMapping(a.id, { map: a.map, description: a.description, digest: a.digest, ...flags });
      mappings.push({ cluster: cluster.name, id: a.id, outcome: a.kind === 'none' ? 'unchanged' : 'applied', message: a.kind === 'none' ? 'matches the hardware' : `${a.kind}d with ${a.map.length} node entr${a.map.length === 1 ? 'y' : 'ies'}` });
    }
  } catch (err) {
    const e = errorInfo(err, 'mappings');
    mappings.push({ cluster: cluster.name, id: '*', outcome: 'failed', message: e.message });
  }
  return mappings;
}

/** One VM: what the plan says about it, or its config write (and restart) through applyVmPlan. */
async function applyVm(ctx: EngineContext, api: PveClient, cluster: Cluster, v: VmPlan, okNodes: ReadonlySet<string>, mappingsOk: boolean): Promise<ApplyVmResult> {
  const base = { cluster: cluster.name, node: v.node, vmid: v.vmid };
  const emit = (status: 'start' | 'done' | 'failed' | 'skipped', message: string) => ctx.emit({ type: 'vm', cluster: cluster.name, vmid: v.vmid, status, message });
  if (v.error) return { ...base, outcome: 'failed', message: v.error.message, error: v.error };
  if (v.refused.length) return { ...base, outcome: 'refused', message: v.refused.map((r) => r.reason).join('; ') };
  if (v.changes.length === 0 && v.power !== 'restart') return unchanged(v);
  if (!okNodes.has(v.node)) {
    emit('skipped', `node ${v.node} did not apply cleanly`);
    return { ...base, outcome: 'skipped', message: `skipped: node ${v.node} did not apply cleanly` };
  }
  const usesMapping = Object.values(v.set).some((val) => /(?:^|,)mapping=/.test(val));
  if (usesMapping && !mappingsOk) return { ...base, outcome: 'skipped', message: 'skipped: its PCI mapping could not be applied' };
  const desired = cluster.vms.find((d) => d.vmid === v.vmid)!;
  emit('start', v.power === 'restart' ? 'shutdown, apply, start' : 'applying config');
  try {
    const replan = async () => {
      const current = await readVmCurrent(api, v.node, v.vmid);
      return planVm(desired, current, { mappings: cluster.mappings.map((m) => ({ id: m.id, nodes: m.nodes })), otherAssignments: [], authKind: api.authKind, hasRootTicket: api.hasRootTicket });
    };
    // The reboot gate may have shut the VM down already: then apply directly and start it again.
    let toApply: VmPlan = v;
    let startAfter = false;
    if (v.power === 'restart' && (await api.vmStatus(v.node, v.vmid)).status !== 'running') {
      toApply = { ...v, power: 'none' };
      startAfter = true;
    }
    const r = await applyVmPlan(api, toApply, replan);
    const actions = [...r.actions];
    if (startAfter && r.outcome !== 'refused') {
      await api.startVm(v.node, v.vmid);
      actions.push('start');
    }
    const pending = r.plan.power === 'pending';
    const message = r.outcome === 'refused'
      ? r.plan.refused.map((x) => x.reason).join('; ')
      : `${actions.join(' → ') || 'nothing'}${r.replanned ? ' (re-planned once after a concurrent change)' : ''}${pending ? '; pending until the VM restarts' : ''}`;
    emit(r.outcome === 'refused' ? 'failed' : 'done', message);
    return { ...base, outcome: r.outcome === 'applied' && pending ? 'pending' : r.outcome, message };
  } catch (err) {
    const error = errorInfo(err, 'vm config');
    emit('failed', error.message);
    return { ...base, outcome: 'failed', message: error.message, error };
  }
}

function unchanged(v: VmPlan): ApplyVmResult {
  return { cluster: v.cluster, node: v.node, vmid: v.vmid, outcome: 'unchanged', message: 'nothing to do' };
}
