import { readFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { plan as planInventory } from '../../engine/plan.js';
import { planHasWork, summarisePlan, type Plan } from '../../engine/types.js';
import { emitReport, openSession, reportError, wantsJson, writeLocalFile, type GlobalFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { renderPlan } from '../render/plan.js';

export interface PlanFlags extends GlobalFlags {
  out?: string;
  /** Terraform's -detailed-exitcode: 2 when changes or refusals are pending. */
  detailedExitcode?: boolean;
}

/**
 * 0 planned (whatever the plan holds), 1 could not plan; with
 * --detailed-exitcode, 2 when changes or refusals are pending, as Terraform's
 * `plan -detailed-exitcode` does, so `set -e` scripts are not stopped by a
 * successful plan.
 */
export function planExitCode(plan: Plan, detailed: boolean): number {
  const summary = summarisePlan(plan);
  if (summary.errors > 0) return EXIT.error;
  return detailed && planHasWork(summary) ? EXIT.changes : EXIT.ok;
}

export async function planCommand(f: PlanFlags): Promise<number> {
  let session;
  try {
    const json = wantsJson(f);
    session = await openSession(f, 'plan', json);
    const plan = await planInventory(session.inventory, session.engine);
    session.progress.done();
    if (f.out) await writeLocalFile(f.out, `${JSON.stringify(plan, null, 2)}\n`, f);
    await emitReport(json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan, session.out), f, session.secrets);
    session.runLog?.write({ type: 'summary', summary: summarisePlan(plan) });
    return planExitCode(plan, Boolean(f.detailedExitcode));
  } catch (err) {
    session?.progress.done();
    return reportError(err, f, session?.secrets);
  }
}

export async function readPlanFile(path: string): Promise<Plan> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new InputError(`cannot read plan ${path}: ${(err as Error).message}`, [], { fix: 'pass a file written by `plan --out`' });
  }
  const p = raw as Plan;
  if (!p || p.version !== 1 || !Array.isArray(p.clusters) || typeof p.runId !== 'string') {
    throw new InputError(`${path} is not a pve-passthrough plan`, [], { fix: 'pass a file written by `plan --out`' });
  }
  return p;
}
