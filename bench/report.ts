/** Markdown tables of the figures (printed, and pasted into docs/performance.md). */
import type { VerifyFigure } from './verify-bench.js';
import type { ApplyFigure } from './apply-bench.js';
import type { ColdStartFigure } from './cold-start-bench.js';
import type { ApiCounts, ApiFigure } from './api-bench.js';
import { fmt, type Summary } from './stats.js';

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const verdict = (ok: boolean) => (ok ? 'met' : 'MISSED');

export function verifyTable(figs: readonly VerifyFigure[]): string {
  const rows: string[][] = [];
  for (const f of figs) {
    rows.push([String(f.hosts), 'tool', fmt(f.tool.wallS), fmt(f.tool.cpuS), fmt(f.tool.maxRssMb, 0), `${f.connectionsPerHost.min}–${f.connectionsPerHost.max}`.replace(/^(\d+)–\1$/, '$1'), fmt(f.tool.simCpuS), fmt(f.ratio)]);
    rows.push([String(f.hosts), 'ssh + xargs', fmt(f.baseline.wallS), fmt(f.baseline.cpuS), fmt(f.baseline.maxRssMb, 0), `${f.baselineConnectionsPerHost.min}–${f.baselineConnectionsPerHost.max}`.replace(/^(\d+)–\1$/, '$1'), fmt(f.baseline.simCpuS), '']);
  }
  const t = table(['hosts', 'who', 'wall s', 'CPU s', 'peak RSS MB', 'conns/host', 'simulator CPU s', 'ratio tool/baseline'], rows);
  const checks = figs.map((f) => `N=${f.hosts}: ratio ${f.ratio.median.toFixed(2)} ≤ 1.3 ${verdict(f.ratio.median <= 1.3)}; one connection per host ${verdict(f.connectionsPerHost.min === 1 && f.connectionsPerHost.max === 1)}${f.hosts >= 1000 ? `; peak RSS ${f.tool.maxRssMb.max.toFixed(0)} MB ≤ 300 ${verdict(f.tool.maxRssMb.max <= 300)}` : ''}`);
  return `### verify over N hosts (median (min–max), ${figs[0]?.parallel ?? '?'} hosts at once)\n\n${t}\n\n${checks.join('\n')}`;
}

export function applyTable(f: ApplyFigure): string {
  const t = table(
    ['clusters × nodes', 'reboot s', 'poll ms', 'critical path s', 'wall s', 'overhead s', 'overhead %', 'conns/host'],
    [[`${f.clusters} × ${f.nodesPerCluster}`, f.rebootS.toFixed(1), String(f.pollMs), f.criticalPathS.toFixed(1), fmt(f.wallS), fmt(f.overheadS), fmt(f.overheadPct, 1), `${Math.min(...f.runs.map((r) => r.connMin))}–${Math.max(...f.runs.map((r) => r.connMax))}`]],
  );
  const b = f.breakdown;
  const parts = `where the overhead goes (medians, s): process start/exit ${b.processS.toFixed(2)}, lead-in to the first reboot ${b.leadInS.toFixed(2)}, ` +
    `noticing ${f.nodesPerCluster} nodes back ${b.noticeS.toFixed(2)}, handovers between nodes ${b.handoverS.toFixed(2)}, tail ${b.tailS.toFixed(2)}`;
  return `### apply rollout (median (min–max) of ${f.runs.length})\n\n${t}\n\n${parts}\n\noverhead ${f.overheadPct.median.toFixed(1)} % ≤ 5 % ${verdict(f.overheadPct.median <= 5)}`;
}

export function coldStartTable(f: ColdStartFigure): string {
  const ms = (s: Summary) => fmt({ median: s.median * 1000, min: s.min * 1000, max: s.max * 1000, n: s.n }, 0);
  const t = table(['command', 'wall ms', 'above bare node ms', 'CPU ms'], [
    ['node -e 0', ms(f.node), '', ms(f.cpu.node)],
    ['pve-passthrough --help', ms(f.help), ms(f.helpOverNode), ms(f.cpu.help)],
    ['pve-passthrough verify --help', ms(f.verifyHelp), ms(f.verifyHelpOverNode), ms(f.cpu.verifyHelp)],
  ]);
  const worst = Math.max(f.helpOverNode.median, f.verifyHelpOverNode.median) * 1000;
  return `### CLI cold start (median (min–max) of ${f.reps})\n\n${t}\n\n${worst.toFixed(0)} ms above bare node ≤ 100 ms ${verdict(worst <= 100)}`;
}

export function apiTable(f: ApiFigure): string {
  const rows = f.sizes.map((s) => [String(s.vms), String(s.applyRequests), (s.applyRequests / s.vms).toFixed(1), String(s.verifyRequests), (s.verifyRequests / s.vms).toFixed(1)]);
  const t = table(['VMs', 'apply requests', 'per VM', 'no-change verify requests', 'per VM'], rows);
  const last = f.sizes[f.sizes.length - 1];
  const routes = (rs: ApiCounts['applyRoutes']) => rs.map((r) => `${r.count} × ${r.method} ${r.route}`).join(', ');
  return `### PVE API requests (${f.nodes} nodes)\n\n${t}\n\neach further VM adds ${f.applyPerVm.toFixed(1)} requests to an apply and ${f.verifyPerVm.toFixed(1)} to a verify` +
    (last ? `\n\napply, ${last.vms} VMs: ${routes(last.applyRoutes)}\n\nverify, ${last.vms} VMs: ${routes(last.verifyRoutes)}` : '');
}
