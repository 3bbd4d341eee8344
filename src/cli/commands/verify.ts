import { InputError } from '../../errors.js';
import { verify } from '../../engine/verify.js';
import { emitReport, openSession, reportError, type GlobalFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { renderVerify, type VerifyFormat } from '../render/verify.js';

const FORMATS: readonly VerifyFormat[] = ['table', 'json', 'junit', 'prometheus'];

export async function verifyCommand(f: GlobalFlags): Promise<number> {
  let session;
  try {
    const format = (f.json ? 'json' : f.format ?? 'table') as VerifyFormat;
    if (!FORMATS.includes(format)) throw new InputError(`--format ${f.format} is not known`, [], { fix: `use one of ${FORMATS.join(', ')}` });
    session = await openSession(f, 'verify', format !== 'table');
    const report = await verify(session.inventory, session.engine);
    session.progress.done();
    session.runLog?.write({ type: 'summary', summary: { verdict: report.verdict } });
    await emitReport(renderVerify(report, format, session.out), f, session.secrets);
    return report.verdict === 'compliant' ? EXIT.ok : report.verdict === 'drift' ? EXIT.changes : EXIT.error;
  } catch (err) {
    session?.progress.done();
    return reportError(err, f, session?.secrets);
  }
}
