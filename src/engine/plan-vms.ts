/**
 * The API side of plan and verify for one cluster: read each declared VM
 * (the VM facts, src/facts/vm/vm-config.ts), the other VMs' hostpci
 * entries on the same nodes (a device may already be taken), and the PCI
 * mappings with the hardware they point at, then plan or verify them. Reads only.
 */
import PQueue from 'p-queue';
import { checkedStatus } from './check-status.js';
import type { Cluster } from '../inventory/schema.js';
import { readGuests } from '../facts/cluster/guests.js';
import { hostpciOf, readVmCurrent, readVmObserved } from '../facts/vm/vm-config.js';
import { parseMapEntry } from '../formats/mapping.js';
import { planMappings, type ExistingMapping, type HardwareDevice, type MappingAction } from '../operations/vm/mapping-plan.js';
import { planVm } from '../operations/vm/plan-vm.js';
import { verifyMappings, verifyVm } from '../operations/vm/verify-vm.js';
import type { MappingNodes, OtherAssignment, VmCurrent, VmHostContext } from '../operations/vm/types.js';
import { checkPassthroughTarget } from '../operations/host/safety.js';
import type { Warning } from '../operations/types.js';
import type { GuestResource, PveClient } from '../transport/pve/index.js';
import { selectedVms, type EngineContext } from './context.js';
import { errorInfo } from './errors.js';
import { ApiError, RunError } from '../errors.js';
import { didYouMean } from '../operations/did-you-mean.js';
import type { ClusterVerification, MappingPlan, VmPlan, VmVerification } from './types.js';
import { ErrorCode } from '../error-codes.js';


const API_CONCURRENCY = 8;

/** hostpci entries of every other VM on the given nodes. */
async function otherAssignments(api: PveClient, all: readonly GuestResource[], nodes: ReadonlySet<string>, declared: ReadonlySet<number>): Promise<OtherAssignment[]> {
  const q = new PQueue({ concurrency: API_CONCURRENCY });
  const others = all.filter((g) => g.type === 'qemu' && nodes.has(g.node) && !declared.has(g.vmid));
  const lists = await Promise.all(others.map((g) => q.add(async () => {
    const { config } = await api.vmConfig(g.node, g.vmid);
    return hostpciOf(g.vmid, g.node, config);
  })));
  return lists.flat();
}

async function readMappings(api: PveClient, cluster: Cluster): Promise<{ nodes: MappingNodes[]; existing: ExistingMapping[] }> {
  const existing: ExistingMapping[] = (await api.pciMappings()).map((m) => ({
    id: m.id, map: [...m.map], description: m.description, digest: m.digest,
    ...(m.mdev !== undefined ? { mdev: m.mdev } : {}),
    ...(m['live-migration-capable'] !== undefined ? { 'live-migration-capable': m['live-migration-capable'] } : {}),
  }));
  const fromCluster: MappingNodes[] = existing.map((m) => {
    const nodes: Record<string, string[]> = {};
    for (const e of m.map) {
      try {
        const p = parseMapEntry(e);
        nodes[p.node] = [...(nodes[p.node] ?? []), ...p.path];
      } catch {
        // an entry this tool cannot read takes no part in planning
      }
    }
    return { id: m.id, nodes };
  });
  const declared = cluster.mappings.map((m) => ({ id: m.id, nodes: m.nodes }));
  return { nodes: [...declared, ...fromCluster.filter((c) => !declared.some((d) => d.id === c.id))], existing };
}

/** `iommuOff`: "defer" while planning (apply does the nodes first), "refuse" when about to write or verify. */
export async function planMappingActions(api: PveClient, cluster: Cluster, iommuOff: 'defer' | 'refuse' = 'refuse'): Promise<{ actions: MappingAction[]; refused: MappingPlanRefusal[]; warnings: Warning[] }> {
  if (cluster.mappings.length === 0) return { actions: [], refused: [], warnings: [] };
  const nodes = [...new Set(cluster.mappings.flatMap((m) => Object.keys(m.nodes)))];
  const hardware: Record<string, HardwareDevice[]> = {};
  const hardwareErrors: Record<string, string> = {};
  await Promise.all(nodes.map(async (n) => {
    try {
      hardware[n] = await api.hardwarePci(n);
    } catch (err) {
      // planMappings refuses the mapping, naming the node and this cause (a 403 names the privilege)
      hardwareErrors[n] = errorInfo(err).message;
    }
  }));
  const { existing } = await readMappings(api, cluster);
  const r = planMappings(cluster.mappings, hardware, existing, { iommuOff, hardwareErrors });
  return { actions: [...r.actions], refused: [...r.refused], warnings: [...r.warnings] };
}
type MappingPlanRefusal = { subject: string; reason: string; fix?: string };

export function toMappingPlans(cluster: string, actions: readonly MappingAction[]): MappingPlan[] {
  return actions.map((a) => ({
    cluster,
    id: a.id,
    action: a.kind,
    map: a.map,
    ...(a.kind === 'update' ? { before: a.before, digest: a.digest, description: a.description } : {}),
    ...(a.kind === 'create' ? { description: a.description } : {}),
  }));
}

/** A node's declaration and facts for the VM-side host-safety check; null = not a node of the inventory. */
export type HostFactsSource = (node: string) => Promise<VmHostContext | null>;

/**
 * Mapping entries checked with their node's facts like node devices (no
 * declaration needed: a mapping alone takes nothing; the VM using it must
 * declare the device). A refused mapping is left out of the plan, so apply
 * does not write it.
 */
async function refuseUnsafeMappings(cluster: Cluster, actions: readonly MappingAction[], hostFacts: HostFactsSource): Promise<{ actions: MappingAction[]; refused: MappingPlanRefusal[] }> {
  const refused: MappingPlanRefusal[] = [];
  const kept: MappingAction[] = [];
  for (const a of actions) {
    const declared = cluster.mappings.find((m) => m.id === a.id);
    const problems: MappingPlanRefusal[] = [];
    for (const [node, value] of Object.entries(declared?.nodes ?? {})) {
      const host = await hostFacts(node);
      for (const address of typeof value === 'string' ? [value] : value) {
        const subject = `mapping ${a.id}`;
        if (!host) {
          problems.push({ subject, reason: `node ${node} (${address}) is not a node of cluster ${cluster.name} in the inventory, so its host facts cannot be checked`, fix: `add node ${node} with its ssh settings to the cluster's "nodes"` });
        } else if (!host.facts) {
          problems.push({ subject, reason: `node ${node} (${address}): its facts could not be read${host.error ? ` (${host.error})` : ''}, so the host-safety check cannot run`, fix: `make node ${node} reachable over SSH, then plan again` });
        } else {
          for (const r of checkPassthroughTarget(host.node, host.facts, { address }, { requireDeclared: false })) {
            problems.push({ subject, reason: `node ${node} ${address}: ${r.reason}`, ...(r.fix !== undefined ? { fix: r.fix } : {}) });
          }
        }
      }
    }
    if (problems.length) refused.push(...problems);
    else kept.push(a);
  }
  return { actions: kept, refused };
}

export async function planClusterVms(ctx: EngineContext, cluster: Cluster, hostFacts?: HostFactsSource): Promise<{ vms: VmPlan[]; mappings: MappingPlan[]; warnings: Warning[] }> {
  const vms = selectedVms(ctx, cluster);
  const wantMappings = cluster.mappings.length > 0 && !ctx.selection.nodes?.length && !ctx.selection.tags?.length;
  if (vms.length === 0 && !wantMappings) return { vms: [], mappings: [], warnings: [] };
  const api = await ctx.conn.api(cluster);
  if (!api) return { vms: [], mappings: [], warnings: [{ subject: `cluster ${cluster.name}`, message: 'VMs or mappings are declared but there is no API section' }] };
  const warnings: Warning[] = [];
  let all: GuestResource[] = [];
  let mappingNodes: MappingNodes[] = [];
  let mappingPlans: MappingPlan[] = [];
  try {
    all = await readGuests(api);
    if (vms.length > 0) mappingNodes = (await readMappings(api, cluster)).nodes;
    if (wantMappings) {
      const m = await planMappingActions(api, cluster, 'defer');
      const safe = hostFacts ? await refuseUnsafeMappings(cluster, m.actions, hostFacts) : { actions: m.actions, refused: [] };
      mappingPlans = toMappingPlans(cluster.name, safe.actions);
      warnings.push(...m.warnings);
      for (const r of [...m.refused, ...safe.refused]) warnings.push({ subject: r.subject, message: `refused: ${r.reason}${r.fix ? ` — fix: ${r.fix}` : ''}` });
    }
  } catch (err) {
    const error = errorInfo(err, 'read cluster');
    return { vms: vms.map((v) => blankVmPlan(cluster.name, v.node, v.vmid, error)), mappings: [], warnings };
  }
  const others = await otherAssignments(api, all, new Set(vms.map((v) => v.node)), new Set(vms.map((v) => v.vmid))).catch(() => {
    warnings.push({ subject: `cluster ${cluster.name}`, message: 'could not read the other VMs\' hostpci entries; devices already used elsewhere may go unnoticed' });
    return [];
  });
  // Machine versions per node, read once (any user may); unreadable = unchecked, said in the VM's warnings.
  const machineLists = new Map<string, Promise<string[] | undefined>>();
  const machinesOf = (node: string): Promise<string[] | undefined> => {
    let p = machineLists.get(node);
    if (!p) {
      p = api.qemuMachines(node).then((l) => l.map((m) => m.id), () => {
        warnings.push({ subject: `node ${node}`, message: 'could not read GET /nodes/{node}/capabilities/qemu/machines: machine versions are not checked' });
        return undefined;
      });
      machineLists.set(node, p);
    }
    return p;
  };
  const q = new PQueue({ concurrency: API_CONCURRENCY });
  const plans = await Promise.all(vms.map((v) => q.add(async (): Promise<VmPlan> => {
    ctx.emit({ type: 'vm', cluster: cluster.name, vmid: v.vmid, status: 'start', message: 'reading config' });
    try {
      const where = all.find((g) => g.vmid === v.vmid && g.type === 'qemu');
      if (!where) await vmNotListed(api, cluster.name, v.node, v.vmid, all);
      if (where && where.node !== v.node) throw new RunError(ErrorCode.VM_NODE, `VM ${v.vmid} is on node ${where.node}, the inventory says ${v.node}`);
      const current = await readVmCurrent(api, v.node, v.vmid, where?.status);
      const host = hostFacts ? await hostFacts(v.node) : null;
      const machines = await machinesOf(v.node);
      const p = planVm(v, current, { mappings: mappingNodes, otherAssignments: others, authKind: api.authKind, hasRootTicket: api.hasRootTicket, ...(host ? { host } : {}), ...(machines ? { machines } : {}) });
      ctx.emit({ type: 'vm', cluster: cluster.name, vmid: v.vmid, status: 'done', message: p.changes.length ? `${p.changes.length} change(s)` : 'nothing to do' });
      return { ...p, cluster: cluster.name, status: current.status };
    } catch (err) {
      const error = errorInfo(err, 'read VM');
      ctx.emit({ type: 'vm', cluster: cluster.name, vmid: v.vmid, status: 'failed', message: error.message });
      return blankVmPlan(cluster.name, v.node, v.vmid, error);
    }
  })));
  return { vms: plans, mappings: mappingPlans, warnings };
}

/**
 * A VM missing from /cluster/resources is either absent or hidden: PVE lists
 * only the guests the token may audit. Asking for its config tells them apart,
 * so a token without VM.Audit is named as a missing privilege (with the path),
 * not as a VM that does not exist. Returns when the config is readable after all.
 */
async function vmNotListed(api: PveClient, cluster: string, node: string, vmid: number, all: readonly GuestResource[]): Promise<void> {
  try {
    await api.vmConfig(node, vmid);
    return;
  } catch (err) {
    if (err instanceof ApiError && err.code === ErrorCode.API_PERMISSION) throw err;
  }
  const ids = all.filter((g) => g.type === 'qemu').map((g) => String(g.vmid));
  throw new RunError(ErrorCode.VM_MISSING, `VM ${vmid} does not exist in cluster ${cluster}${didYouMean(String(vmid), ids)}`, {
    fix: ids.length ? `VMs in the cluster: ${ids.join(', ')}` : 'the cluster lists no VMs this login may see',
  });
}

function blankVmPlan(cluster: string, node: string, vmid: number, error: VmPlan['error']): VmPlan {
  return { cluster, node, vmid, status: 'unknown', set: {}, delete: [], digest: '', changes: [], power: 'none', shutdown: { timeoutSeconds: 0, allowStop: false }, before: {}, warnings: [], refused: [], error };
}

export async function verifyClusterVms(ctx: EngineContext, cluster: Cluster): Promise<{ vms: VmVerification[]; cluster: ClusterVerification | null }> {
  const vms = selectedVms(ctx, cluster);
  const wantMappings = cluster.mappings.length > 0 && !ctx.selection.nodes?.length && !ctx.selection.tags?.length;
  if (vms.length === 0 && !wantMappings) return { vms: [], cluster: null };
  let api: PveClient | null;
  try {
    api = await ctx.conn.api(cluster);
  } catch (err) {
    // The real cause (a missing secret, a bad CA file), not a guess that the API is unreachable.
    const error = errorInfo(err, 'connect to the API');
    return { vms: vms.map((v) => ({ cluster: cluster.name, node: v.node, vmid: v.vmid, checks: [], error })), cluster: null };
  }
  if (!api) {
    const error = { code: ErrorCode.INPUT, message: `cluster ${cluster.name} declares VMs or mappings but has no api section`, fix: 'add the api section to that cluster' };
    return { vms: vms.map((v) => ({ cluster: cluster.name, node: v.node, vmid: v.vmid, checks: [], error })), cluster: null };
  }
  const q = new PQueue({ concurrency: API_CONCURRENCY });
  // One /cluster/resources read gives every VM's power state; status/current is asked only for
  // running VMs, whose running machine the checks need.
  const all = await readGuests(api).catch(() => [] as GuestResource[]);
  const vmResults = await Promise.all(vms.map((v) => q.add(async (): Promise<VmVerification> => {
    try {
      const listed = all.find((g) => g.vmid === v.vmid && g.type === 'qemu');
      const checks = verifyVm(v, await readVmObserved(api, v.node, v.vmid, listed?.status));
      ctx.emit({ type: 'vm', cluster: cluster.name, vmid: v.vmid, ...checkedStatus(checks) });
      return { cluster: cluster.name, node: v.node, vmid: v.vmid, checks };
    } catch (err) {
      const error = errorInfo(err, 'read VM');
      ctx.emit({ type: 'vm', cluster: cluster.name, vmid: v.vmid, status: 'failed', message: error.message });
      return { cluster: cluster.name, node: v.node, vmid: v.vmid, checks: [], error };
    }
  })));
  let clusterResult: ClusterVerification | null = null;
  if (wantMappings) {
    try {
      const m = await planMappingActions(api, cluster);
      const checks = [...verifyMappings(m.actions), ...m.refused.map((r) => ({ id: `${r.subject.replace(/^mapping /, 'mapping:')}`, status: 'fail' as const, message: r.reason }))];
      clusterResult = { cluster: cluster.name, checks };
    } catch (err) {
      clusterResult = { cluster: cluster.name, checks: [], error: errorInfo(err, 'read mappings') };
    }
  }
  return { vms: vmResults, cluster: clusterResult };
}
