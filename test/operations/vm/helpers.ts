import { Vm } from '../../../src/inventory/schema.js';
import type { VmCurrent, VmPlan, VmPlanContext } from '../../../src/operations/vm/types.js';

export function vm(over: Record<string, unknown>): Vm {
  return Vm.parse({ vmid: 101, node: 'pve1', ...over });
}

export function current(config: Record<string, string>, over: Partial<VmCurrent> = {}): VmCurrent {
  return { config: { balloon: '0', bios: 'ovmf', ...config }, digest: 'd0', pending: [], status: 'stopped', ...over };
}

export const ctx = (over: Partial<VmPlanContext> = {}): VmPlanContext => ({
  mappings: [{ id: 'gpu-a', nodes: { pve1: '0000:01:00.0', pve2: '0000:41:00.0' } }],
  otherAssignments: [],
  authKind: 'ticket',
  hasRootTicket: false,
  ...over,
});

/** The config after a plan's own write (what PVE would hold). */
export function applied(config: Readonly<Record<string, string>>, plan: VmPlan): Record<string, string> {
  const out: Record<string, string> = { ...config, ...plan.set };
  for (const k of plan.delete) delete out[k];
  return out;
}
