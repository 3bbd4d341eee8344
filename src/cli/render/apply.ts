/** The apply report: one line per node, VM and mapping, then what to do next. */
import type { ApplyReport } from '../../engine/types.js';
import { PLAIN, type Style } from '../style.js';
import { terminalSafe } from '../terminal-text.js';

export function renderApply(raw: ApplyReport, s: Style = PLAIN): string {
  const r = terminalSafe(raw);
  const mark = (o: string) => (o === 'applied' ? s.green('applied  ') : o === 'unchanged' ? s.dim('unchanged') : o === 'pending' ? s.yellow('pending  ') : o === 'skipped' ? s.yellow('skipped  ') : o === 'refused' ? s.yellow('refused  ') : s.red('FAILED   '));
  const out: string[] = [];
  for (const n of r.nodes) out.push(`${mark(n.rebootPending ? 'pending' : n.outcome)}  node ${n.cluster}/${n.node}${n.rebooted ? ' (rebooted)' : ''}: ${n.message}`);
  for (const m of r.mappings) out.push(`${mark(m.outcome)}  mapping ${m.cluster}/${m.id}: ${m.message}`);
  for (const v of r.vms) out.push(`${mark(v.outcome)}  VM ${v.cluster}/${v.vmid} on ${v.node}: ${v.message}`);
  if (r.next.length) {
    out.push('', s.bold('Next:'));
    for (const n of r.next) out.push(`  - ${n}`);
  }
  const waiting = r.nodes.filter((n) => n.rebootPending).length;
  if (!r.ok) out.push('', s.red(`Apply finished with problems (run ${r.runId}).`));
  else if (waiting > 0) out.push('', s.yellow(`Apply complete (run ${r.runId}): written and refreshed; reboot pending on ${waiting} node(s).`));
  else out.push('', s.green(`Apply complete (run ${r.runId}): everything applied and verified.`));
  return `${out.join('\n')}\n`;
}
