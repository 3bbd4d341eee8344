import { readFile, writeFile } from 'node:fs/promises';
import { InputError } from '../../errors.js';
import { plan as planInventory } from '../../engine/plan.js';
import { planHasWork, summarisePlan, type Plan } from '../../engine/types.js';
import { emitReport, openSession, reportError, type GlobalFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { renderPlan } from '../render/plan.js';

export interface PlanFlags extends GlobalFlags {
  out?: string;
}

export async function planCommand(f: PlanFlags): Promise<number> {
  let session;
  try {
    session = await openSession(f, 'plan', Boolean(f.json));
    const plan = await planInventory(session.inventory, session.engine);
    session.progress.done();
    if (f.out) await writeFile(f.out, `${JSON.stringify(plan, null, 2)}\n`, { mode: 0o600 });
    await emitReport(f.json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(plan, session.out), f, session.secrets);
    const summary = summarisePlan(plan);
    session.runLog?.write({ type: 'summary', summary });
    if (summary.errors > 0) return EXIT.error;
    return planHasWork(summary) ? EXIT.changes : EXIT.ok;
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
