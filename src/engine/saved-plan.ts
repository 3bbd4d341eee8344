/**
 * A saved plan is reviewed intent, never code: `apply --plan FILE` plans again
 * from fresh facts and the inventory, and goes on only when the result equals
 * the file (host steps, VM set/delete/power, mappings). What runs is always
 * the fresh plan, so nothing in the file is executed that the planner would
 * not produce itself; any difference refuses, with the difference shown.
 */
import { SafetyError } from '../errors.js';
import { inventoryDigest, type EngineContext } from './context.js';
import { planWith } from './plan.js';
import type { ClusterPlan, MappingPlan, NodePlan, Plan, VmPlan } from './types.js';
import type { HostStep } from '../operations/types.js';
import { normalizeTakeoverMarkers } from '../operations/host/modprobe-adopt.js';
import { ErrorCode } from '../error-codes.js';

/** Plan again and compare; returns the fresh plan (equal in intent to `saved`) or throws E_PLAN_DIFFERS. */
export async function replanSaved(ctx: EngineContext, saved: Plan): Promise<Plan> {
  if (saved?.version !== 1 || !Array.isArray(saved.clusters)) {
    throw new SafetyError(ErrorCode.PLAN_DIFFERS, 'the saved plan is not a pve-passthrough plan', { step: 'plan check', fix: 'pass a file written by `plan --out`' });
  }
  if (saved.inventoryDigest !== inventoryDigest(ctx.inventory)) {
    throw new SafetyError(ErrorCode.PLAN_DIFFERS, 'the saved plan was made from a different inventory', { step: 'plan check', fix: 'run plan again with this inventory and review it' });
  }
  const fresh = await planWith(ctx);
  const diff = planDifferences(saved, fresh);
  if (diff.length > 0) {
    const shown = diff.slice(0, 20).join('; ') + (diff.length > 20 ? `; … ${diff.length - 20} more` : '');
    throw new SafetyError(ErrorCode.PLAN_DIFFERS, `the saved plan differs from what the planner makes now, so it is not applied: ${shown}`, {
      step: 'plan check', fix: 'run plan again and review it (a plan file is never executed as given)',
    });
  }
  return fresh;
}

/** Every difference in intent between two plans, one line each (empty = equal). Run ids, times, facts digests and prose are not intent. */
export function planDifferences(saved: Plan, fresh: Plan): string[] {
  const out: string[] = [];
  const clusters = pair(saved.clusters ?? [], fresh.clusters, (c) => String(c?.name));
  for (const [name, a, b] of clusters) {
    if (!a) { out.push(`cluster ${name}: missing from the file`); continue; }
    if (!b) { out.push(`cluster ${name}: in the file only`); continue; }
    out.push(...clusterDifferences(a, b));
  }
  return out;
}

function clusterDifferences(a: ClusterPlan, b: ClusterPlan): string[] {
  const out: string[] = [];
  for (const [node, x, y] of pair(a.nodes ?? [], b.nodes, (n) => String(n?.node))) {
    if (!x) out.push(`node ${node}: missing from the file`);
    else if (!y) out.push(`node ${node}: in the file only`);
    else out.push(...nodeDifferences(x, y).map((d) => `node ${node}: ${d}`));
  }
  for (const [vmid, x, y] of pair(a.vms ?? [], b.vms, (v) => String(v?.vmid))) {
    if (!x) out.push(`VM ${vmid}: missing from the file`);
    else if (!y) out.push(`VM ${vmid}: in the file only`);
    else out.push(...vmDifferences(x, y).map((d) => `VM ${vmid}: ${d}`));
  }
  for (const [id, x, y] of pair(a.mappings ?? [], b.mappings, (m) => String(m?.id))) {
    if (!x) out.push(`mapping ${id}: missing from the file`);
    else if (!y) out.push(`mapping ${id}: in the file only`);
    else out.push(...mappingDifferences(x, y).map((d) => `mapping ${id}: ${d}`));
  }
  return out;
}

/** What a step acts on: two steps with the same subject are compared field by field. */
function subject(s: HostStep): string {
  switch (s?.kind) {
    case 'write-file': return `write ${s.path}`;
    case 'remove-file': return `remove ${s.path}`;
    case 'refresh': return `refresh ${s.command}`;
    case 'live-bind': return `bind ${s.address}`;
    case 'leave-ha-maintenance': return 'leave HA maintenance';
    case 'reboot': return 'reboot';
    default: return `unknown step ${short(JSON.stringify(s))}`;
  }
}

/** Differences between two plans of one node; `label` names the two sides (a saved file and the planner, or the plan and now). */
export function nodeDifferences(a: NodePlan, b: NodePlan, label: Label = FILE_VS_PLANNER): string[] {
  const out: string[] = [];
  const as = Array.isArray(a.steps) ? a.steps : [];
  for (const [what, x, y] of pair(as, b.steps, subject)) {
    if (!x) out.push(`${label.b} makes "${what}", ${label.a} does not`);
    else if (!y) out.push(`${label.a} has "${what}", ${label.b} makes no such step`);
    else {
      const fields = changedFields(x, y);
      if (fields.length) out.push(`"${what}" differs in ${fields.map((f) => describeField(f, x, y, label)).join(', ')}`);
    }
  }
  if (out.length === 0 && as.map(subject).join('\n') !== b.steps.map(subject).join('\n')) out.push('the steps are in a different order');
  const ra = (a.refused ?? []).map((r) => r.subject).sort();
  const rb = b.refused.map((r) => r.subject).sort();
  if (ra.join('\n') !== rb.join('\n')) out.push(`refused: ${label.a} has [${ra.join(', ')}], ${label.b} [${rb.join(', ')}]`);
  if (Boolean(a.error) !== Boolean(b.error)) out.push(b.error ? `cannot be planned now (${b.error.message})` : 'could not be planned when the file was made');
  return out;
}

function vmDifferences(a: VmPlan, b: VmPlan): string[] {
  const out: string[] = [];
  if (a.node !== b.node) out.push(`node ${short(String(a.node))} in the file, ${b.node} now`);
  const sa: Record<string, unknown> = a.set && typeof a.set === 'object' ? a.set : {};
  for (const key of new Set([...Object.keys(sa), ...Object.keys(b.set)])) {
    const x = sa[key];
    const y = b.set[key];
    if (x === y) continue;
    if (y === undefined) out.push(`the file sets ${short(key)}=${short(String(x))}, the planner sends no ${short(key)}`);
    else if (x === undefined) out.push(`the planner sets ${key}=${short(y)}, the file does not`);
    else out.push(`${key}: the file sends ${short(String(x))}, the planner ${short(y)}`);
  }
  const da = Array.isArray(a.delete) ? a.delete.map(String) : [];
  for (const k of da) if (!b.delete.includes(k)) out.push(`the file deletes ${short(k)}, the planner does not`);
  for (const k of b.delete) if (!da.includes(k)) out.push(`the planner deletes ${k}, the file does not`);
  if (a.power !== b.power) out.push(`power: ${short(String(a.power))} in the file, ${b.power} now`);
  if (JSON.stringify(a.shutdown) !== JSON.stringify(b.shutdown)) out.push('shutdown options differ');
  const ra = (a.refused ?? []).map((r) => r.subject).sort();
  const rb = b.refused.map((r) => r.subject).sort();
  if (ra.join('\n') !== rb.join('\n')) out.push('refusals differ');
  if (Boolean(a.error) !== Boolean(b.error)) out.push(b.error ? `cannot be planned now (${b.error.message})` : 'could not be planned when the file was made');
  return out;
}

function mappingDifferences(a: MappingPlan, b: MappingPlan): string[] {
  const out: string[] = [];
  if (a.action !== b.action) out.push(`action ${short(String(a.action))} in the file, ${b.action} now`);
  if (JSON.stringify(a.map) !== JSON.stringify(b.map)) out.push(`map ${short(JSON.stringify(a.map))} in the file, ${JSON.stringify(b.map)} now`);
  if ((a.description ?? null) !== (b.description ?? null)) out.push('description differs');
  return out;
}

interface Label {
  readonly a: string;
  readonly b: string;
}
const FILE_VS_PLANNER: Label = { a: 'the file', b: 'the planner' };
export const PLAN_VS_NOW: Label = { a: 'the plan', b: 'a plan made now' };

function changedFields(x: object, y: object): string[] {
  const rx = x as Record<string, unknown>;
  const ry = y as Record<string, unknown>;
  // The marker of an operator line taken over names the run that wrote it: not intent.
  const canon = (v: unknown): string => JSON.stringify(typeof v === 'string' ? normalizeTakeoverMarkers(v) : v);
  return [...new Set([...Object.keys(rx), ...Object.keys(ry)])].filter((k) => canon(rx[k]) !== canon(ry[k])).sort();
}

/** A field difference; for file content, the first line that differs. */
function describeField(field: string, x: HostStep, y: HostStep, label: Label): string {
  const a = (x as unknown as Record<string, unknown>)[field];
  const b = (y as unknown as Record<string, unknown>)[field];
  if (typeof a === 'string' && typeof b === 'string' && (a.includes('\n') || b.includes('\n'))) {
    const la = a.split('\n');
    const lb = b.split('\n');
    const i = la.findIndex((l, k) => l !== lb[k]);
    const at = i < 0 ? la.length : i;
    return `${field} (line ${at + 1}: ${label.a} has ${short(JSON.stringify(la[at] ?? '<end>'))}, ${label.b} ${short(JSON.stringify(lb[at] ?? '<end>'))})`;
  }
  return `${field} (${label.a} has ${short(JSON.stringify(a) ?? 'nothing')}, ${label.b} ${short(JSON.stringify(b) ?? 'nothing')})`;
}

/** Pairs items of two lists by key, in the order of first appearance; duplicates keep their own entry. */
function pair<T>(a: readonly T[], b: readonly T[], key: (t: T) => string): [string, T | undefined, T | undefined][] {
  const out: [string, T | undefined, T | undefined][] = [];
  const rest = [...b];
  for (const x of a) {
    const k = key(x);
    const i = rest.findIndex((y) => key(y) === k);
    out.push([k, x, i >= 0 ? rest.splice(i, 1)[0] : undefined]);
  }
  for (const y of rest) out.push([key(y), undefined, y]);
  return out;
}

function short(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
