import { InputError } from '../../errors.js';
import { rollback } from '../../engine/rollback.js';
import { emitReport, openSession, reportError, wantsJson, type GlobalFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { escapeControl, terminalSafe } from '../terminal-text.js';
import { canPrompt, confirm } from '../prompt.js';
import { leaseOptions, type LeaseFlags } from '../lease-flags.js';

export interface RollbackFlags extends GlobalFlags, LeaseFlags {
  run?: string;
  yes?: boolean;
  force?: boolean;
}

export async function rollbackCommand(f: RollbackFlags): Promise<number> {
  let session;
  try {
    const node = f.node?.[0] ?? f.nodeName;
    if (!node || (f.node?.length ?? 0) > 1) throw new InputError('rollback acts on exactly one node', [], { fix: 'pass --node <name>' });
    if (!f.yes) {
      if (!canPrompt()) throw new InputError('rollback needs confirmation and there is no terminal to ask on', [], { fix: 'run it with --yes' });
      if (!(await confirm(`Restore ${node}'s files from run ${f.run ?? '(newest)'} and reboot it under the policy?`))) return EXIT.error;
    }
    leaseOptions(f);
    session = await openSession(f, 'rollback', wantsJson(f));
    const prog = session.progress;
    const lease = leaseOptions(f, () => prog.done());
    const report = await rollback(session.inventory, { ...session.engine, lease, node, cluster: f.cluster?.[0], run: f.run, force: Boolean(f.force) });
    session.progress.done();
    const r = report.result;
    const text = wantsJson(f)
      ? `${JSON.stringify(report, null, 2)}\n`
      : `${terminalSafe(report).files.map((x) => `  ${x.action.padEnd(9)} ${x.path}`).join('\n')}${report.files.length ? '\n' : ''}${r.outcome === 'failed' ? session.out.red(`rollback failed: ${escapeControl(r.message)}`) : session.out.green(escapeControl(r.message))}\n`;
    await emitReport(text, f, session.secrets);
    return r.outcome === 'failed' ? EXIT.error : EXIT.ok;
  } catch (err) {
    session?.progress.done();
    return reportError(err, f, session?.secrets);
  }
}
