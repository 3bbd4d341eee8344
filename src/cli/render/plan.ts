/** The readable plan: a diff per node and VM, then one summary line. */
import type { HostStep } from '../../operations/types.js';
import { summarisePlan, type ClusterPlan, type NodePlan, type Plan, type VmPlan } from '../../engine/types.js';
import { PLAIN, type Style } from '../style.js';
import { compactDiff, lineDiff } from './line-diff.js';
import { terminalSafe } from '../terminal-text.js';

export function renderPlan(raw: Plan, s: Style = PLAIN): string {
  // Host file content and API values may carry terminal escapes: shown, never obeyed.
  const plan = terminalSafe(raw);
  const out: string[] = [];
  for (const c of plan.clusters) out.push(...renderCluster(c, s));
  out.push(summaryLine(plan, s));
  return `${out.join('\n')}\n`;
}

export function summaryLine(plan: Plan, s: Style = PLAIN): string {
  const m = summarisePlan(plan);
  if (m.steps === 0 && m.vmsWithChanges === 0 && m.mappingsWithChanges === 0 && m.refused === 0 && m.errors === 0) {
    return s.green('No changes. Every node and VM is in the declared state.');
  }
  const parts = [
    `${m.nodesWithChanges} node(s) to change (${m.steps} step(s), ${m.reboots} reboot(s))`,
    `${m.vmsWithChanges} VM(s) to change`,
    `${m.mappingsWithChanges} mapping(s) to change`,
  ];
  if (m.refused) parts.push(s.yellow(`${m.refused} refused`));
  if (m.errors) parts.push(s.red(`${m.errors} could not be planned`));
  return `${s.bold('Plan:')} ${parts.join(', ')}.`;
}

function renderCluster(c: ClusterPlan, s: Style): string[] {
  const out = [s.bold(`cluster ${c.name}`)];
  for (const n of c.nodes) out.push(...renderNode(n, s));
  for (const m of c.mappings) {
    if (m.action === 'none') continue;
    out.push(`  ${s.cyan(`mapping ${m.id}`)}: ${m.action}`);
    for (const e of m.before ?? []) if (!m.map.includes(e)) out.push(s.red(`    - map ${e}`));
    for (const e of m.map) if (!(m.before ?? []).includes(e)) out.push(s.green(`    + map ${e}`));
  }
  for (const v of c.vms) out.push(...renderVm(v, s));
  for (const w of c.warnings) out.push(s.yellow(`  warning: ${w.subject}: ${w.message}`));
  return out;
}

function renderNode(n: NodePlan, s: Style): string[] {
  const head = `  ${s.cyan(`node ${n.node}`)}${n.bootLoader ? s.dim(` (${n.bootLoader}, kernel ${n.kernel})`) : ''}`;
  if (n.error) return [head, s.red(`    error: ${n.error.message}${n.error.fix ? ` — fix: ${n.error.fix}` : ''}`)];
  const out = [head];
  if (n.steps.length === 0 && n.refused.length === 0) out.push(s.dim('    no changes'));
  for (const st of n.steps) out.push(...renderStep(st, s));
  if (n.steps.length > 0 && !n.steps.some((st) => st.kind === 'reboot')) out.push(s.dim('    no reboot needed'));
  for (const r of n.refused) out.push(s.yellow(`    refused: ${r.subject}: ${r.reason}${r.fix ? ` — fix: ${r.fix}` : ''}`));
  for (const w of n.warnings) out.push(s.yellow(`    warning: ${w.subject}: ${w.message}`));
  for (const k of n.kept ?? []) out.push(s.dim(`    kept: ${k}`));
  return out;
}

function renderStep(st: HostStep, s: Style): string[] {
  switch (st.kind) {
    case 'write-file': {
      // Mode and owner too: the confirmation shows everything that is written.
      const out = [`    ${st.before === null ? s.green('+ create') : s.yellow('~ update')} ${st.path} ${s.dim(`mode ${st.mode}, owner ${st.uid}:${st.gid} (${st.reason})`)}`];
      for (const l of compactDiff(lineDiff(st.before ?? '', st.after))) {
        if (l === '…') out.push(s.dim('        …'));
        else out.push(l.op === '+' ? s.green(`      + ${l.text}`) : l.op === '-' ? s.red(`      - ${l.text}`) : s.dim(`        ${l.text}`));
      }
      return out;
    }
    case 'remove-file':
      return [`    ${s.red('- remove')} ${st.path} ${s.dim(`(${st.reason})`)}`];
    case 'refresh':
      return [`    > ${{ 'update-initramfs': 'update-initramfs -u -k all', 'update-grub': 'update-grub', 'proxmox-boot-tool-refresh': 'proxmox-boot-tool refresh' }[st.command]} ${s.dim(`(${st.reason})`)}`];
    case 'live-bind':
      return [`    > bind ${st.address} to vfio-pci now (from ${st.from ?? 'no driver'}) ${s.dim(`(${st.reason})`)}`];
    case 'leave-ha-maintenance':
      return [`    > ha-manager crm-command node-maintenance disable ${s.dim(`(${st.reason})`)}`];
    case 'reboot':
      return [s.yellow(`    ! reboot: ${st.reasons.join('; ')}`)];
  }
}

function renderVm(v: VmPlan, s: Style): string[] {
  const power = v.power === 'pending' ? ' — running: the change stays pending until the next stop/start' : v.power === 'restart' ? ' — running: shutdown, apply, start' : '';
  const head = `  ${s.cyan(`VM ${v.vmid}`)} on ${v.node}${s.dim(` (${v.status})`)}${power}`;
  if (v.error) return [head, s.red(`    error: ${v.error.message}${v.error.fix ? ` — fix: ${v.error.fix}` : ''}`)];
  const out = [head];
  const sent = Object.keys(v.set).length + v.delete.length;
  if (sent === 0 && v.refused.length === 0) out.push(s.dim('    no changes'));
  // Exactly what is sent to the API (set and delete), beside the value it replaces.
  for (const [key, after] of Object.entries(v.set)) {
    const before = v.before[key];
    if (before === undefined) out.push(s.green(`    + ${key}: ${after}`));
    else if (before === after) out.push(s.dim(`    = ${key}: ${after} (sent again)`));
    else out.push(s.yellow(`    ~ ${key}: ${before} → ${after}`));
  }
  for (const key of v.delete) out.push(s.red(`    - ${key}${v.before[key] !== undefined ? `: ${v.before[key]}` : ''}`));
  for (const r of v.refused) out.push(s.yellow(`    refused: ${r.subject}: ${r.reason}${r.fix ? ` — fix: ${r.fix}` : ''}`));
  for (const w of v.warnings) out.push(s.yellow(`    warning: ${w.message}`));
  for (const k of v.kept ?? []) out.push(s.dim(`    kept: ${k}`));
  return out;
}
