import { withContext } from '../../engine/context.js';
import { replanSaved } from '../../engine/saved-plan.js';
import { applyWith } from '../../engine/apply.js';
import { planWith } from '../../engine/plan.js';
import { planHasWork, summarisePlan } from '../../engine/types.js';
import { InputError } from '../../errors.js';
import { emitReport, openSession, reportError, wantsJson, type GlobalFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { canPrompt, confirm } from '../prompt.js';
import { renderApply } from '../render/apply.js';
import { renderPlan } from '../render/plan.js';
import { readPlanFile } from './plan.js';
import { leaseOptions, type LeaseFlags } from '../lease-flags.js';

export interface ApplyFlags extends GlobalFlags, LeaseFlags {
  plan?: string;
  yes?: boolean;
}

export async function applyCommand(f: ApplyFlags): Promise<number> {
  let session;
  try {
    if (!f.yes && !canPrompt()) {
      throw new InputError('apply needs confirmation and there is no terminal to ask on', [], { fix: 'review `pve-passthrough plan`, then run apply with --yes' });
    }
    leaseOptions(f); // bad flag values fail before anything is contacted
    session = await openSession(f, 'apply', wantsJson(f));
    const prog = session.progress;
    const lease = leaseOptions(f, () => prog.done());
    const saved = f.plan ? await readPlanFile(f.plan) : undefined;
    const abort = new AbortController();
    const onSigint = () => {
      process.stderr.write('\ninterrupt: finishing the current step, then stopping (press Ctrl-C again to force)\n');
      process.off('SIGINT', onSigint);
      abort.abort();
    };
    process.on('SIGINT', onSigint);
    const out = session;
    try {
      return await withContext(session.inventory, { ...session.engine, signal: abort.signal, lease }, async (ctx) => {
        // A saved plan is intent: what is shown and applied is the fresh plan, and only when it equals the file.
        const plan = saved ? await replanSaved(ctx, saved) : await planWith(ctx);
        out.progress.done();
        if (!planHasWork(summarisePlan(plan))) {
          process.stderr.write('Nothing to do: every node and VM is already in the declared state.\n');
        } else {
          // The plan is shown before anything is applied, with --yes too: the log of an unattended run says what it was about to do.
          if (!f.quiet) process.stderr.write(renderPlan(plan, out.err));
          if (!f.yes && !(await confirm('Apply these changes?'))) {
            process.stderr.write('Nothing was changed.\n');
            return EXIT.error;
          }
        }
        const report = await applyWith(ctx, plan);
        out.progress.done();
        out.runLog?.write({ type: 'summary', summary: { ok: report.ok, nodes: report.nodes.length, vms: report.vms.length } });
        await emitReport(wantsJson(f) ? `${JSON.stringify(report, null, 2)}\n` : renderApply(report, out.out), f, out.secrets);
        return report.ok ? EXIT.ok : EXIT.error;
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  } catch (err) {
    session?.progress.done();
    return reportError(err, f, session?.secrets);
  }
}
