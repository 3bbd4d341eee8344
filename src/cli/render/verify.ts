/** verify reports: table for people, json, junit for CI, prometheus for node_exporter's textfile collector. */
import type { Check } from '../../operations/types.js';
import type { VerifyReport } from '../../engine/types.js';
import { PLAIN, type Style } from '../style.js';
import { terminalSafe } from '../terminal-text.js';

export type VerifyFormat = 'table' | 'json' | 'junit' | 'prometheus';

interface Row {
  readonly cluster: string;
  readonly node: string;
  readonly vm: string;
  readonly check: Check;
}

function rows(r: VerifyReport): Row[] {
  const out: Row[] = [];
  for (const n of r.nodes) {
    if (n.error) out.push({ cluster: n.cluster, node: n.node, vm: '', check: { id: 'reachable', status: 'fail', message: n.error.message } });
    for (const c of n.checks) out.push({ cluster: n.cluster, node: n.node, vm: '', check: c });
  }
  for (const v of r.vms) {
    if (v.error) out.push({ cluster: v.cluster, node: v.node, vm: String(v.vmid), check: { id: 'reachable', status: 'fail', message: v.error.message } });
    for (const c of v.checks) out.push({ cluster: v.cluster, node: v.node, vm: String(v.vmid), check: c });
  }
  for (const c of r.clusters ?? []) {
    if (c.error) out.push({ cluster: c.cluster, node: '', vm: '', check: { id: 'api', status: 'fail', message: c.error.message } });
    for (const k of c.checks) out.push({ cluster: c.cluster, node: '', vm: '', check: k });
  }
  return out;
}

export function renderVerify(r: VerifyReport, format: VerifyFormat, s: Style = PLAIN): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(r, null, 2)}\n`;
    case 'junit':
      return junit(r);
    case 'prometheus':
      return prometheus(r);
    case 'table':
      return table(terminalSafe(r), s);
  }
}

function table(r: VerifyReport, s: Style): string {
  const all = rows(r);
  const w = (k: (x: Row) => string, min: number) => Math.max(min, ...all.map((x) => k(x).length));
  const wc = w((x) => x.cluster, 7), wn = w((x) => x.node, 4), wv = w((x) => x.vm, 2), wk = w((x) => x.check.id, 5);
  const lines = [`${'CLUSTER'.padEnd(wc)}  ${'NODE'.padEnd(wn)}  ${'VM'.padEnd(wv)}  ${'CHECK'.padEnd(wk)}  STATUS  DETAIL`];
  for (const x of all) {
    const status = x.check.status === 'pass' ? s.green('pass  ') : x.check.status === 'fail' ? s.red('FAIL  ') : s.dim('n/a   ');
    const detail = x.check.message + (x.check.evidence && x.check.status === 'fail' ? ` [${x.check.evidence}]` : '');
    lines.push(`${x.cluster.padEnd(wc)}  ${x.node.padEnd(wn)}  ${x.vm.padEnd(wv)}  ${x.check.id.padEnd(wk)}  ${status}  ${detail}`);
  }
  const failed = all.filter((x) => x.check.status === 'fail').length;
  const verdict = r.verdict === 'compliant' ? s.green('Compliant: every check passed.') : r.verdict === 'drift' ? s.red(`Drift: ${failed} check(s) failed.`) : failed === 0 ? s.red('Nothing was checked: not compliant.') : s.red(`Could not check everything: ${failed} failing or unreachable.`);
  return `${lines.join('\n')}\n${verdict}\n`;
}

const xml = (t: string) => t.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');

function junit(r: VerifyReport): string {
  const groups = new Map<string, Row[]>();
  for (const x of rows(r)) {
    const key = x.vm ? `${x.cluster}/${x.node}/vm${x.vm}` : `${x.cluster}/${x.node}`;
    groups.set(key, [...(groups.get(key) ?? []), x]);
  }
  const all = rows(r);
  const failures = all.filter((x) => x.check.status === 'fail').length;
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<testsuites name="pve-passthrough verify" tests="${all.length}" failures="${failures}" timestamp="${xml(r.checkedAt)}">`];
  for (const [name, list] of groups) {
    out.push(`  <testsuite name="${xml(name)}" tests="${list.length}" failures="${list.filter((x) => x.check.status === 'fail').length}" skipped="${list.filter((x) => x.check.status === 'na').length}">`);
    for (const x of list) {
      out.push(`    <testcase classname="${xml(name)}" name="${xml(x.check.id)}">`);
      if (x.check.status === 'fail') out.push(`      <failure message="${xml(x.check.message)}">${xml(x.check.evidence ?? x.check.message)}</failure>`);
      if (x.check.status === 'na') out.push(`      <skipped message="${xml(x.check.message)}"/>`);
      out.push('    </testcase>');
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** node_exporter textfile: one gauge per check (1 pass, 0 fail; n/a omitted), plus a run verdict. */
function prometheus(r: VerifyReport): string {
  const out = [
    '# HELP pve_passthrough_check 1 when the check passes, 0 when it fails.',
    '# TYPE pve_passthrough_check gauge',
  ];
  for (const x of rows(r)) {
    if (x.check.status === 'na') continue;
    out.push(`pve_passthrough_check{cluster="${label(x.cluster)}",node="${label(x.node)}",vm="${label(x.vm)}",check="${label(x.check.id)}"} ${x.check.status === 'pass' ? 1 : 0}`);
  }
  out.push(
    '# HELP pve_passthrough_compliant 1 when every check passed, 0 on drift or when something could not be checked.',
    '# TYPE pve_passthrough_compliant gauge',
    `pve_passthrough_compliant ${r.verdict === 'compliant' ? 1 : 0}`,
    '# HELP pve_passthrough_last_run_timestamp_seconds When verify last ran.',
    '# TYPE pve_passthrough_last_run_timestamp_seconds gauge',
    `pve_passthrough_last_run_timestamp_seconds ${Math.floor(Date.parse(r.checkedAt) / 1000)}`,
  );
  return `${out.join('\n')}\n`;
}
