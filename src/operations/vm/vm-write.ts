/**
 * The one config write a VM plan asks for. Pure: the engine (engine/apply-vm.ts)
 * sends it, with the digest read at plan time and the values it replaces
 * (the API client needs them for the root rule).
 */
import type { VmPlan } from './types.js';

export interface VmWrite {
  readonly set: Readonly<Record<string, string>>;
  readonly delete: readonly string[];
  readonly digest: string;
  readonly before: Readonly<Record<string, string>>;
}

/** null: nothing to set or delete. */
export function vmWrite(p: VmPlan): VmWrite | null {
  if (Object.keys(p.set).length === 0 && p.delete.length === 0) return null;
  return { set: p.set, delete: p.delete, digest: p.digest, before: p.before };
}
