import { devices, type NodeDevices } from '../../engine/devices.js';
import { emitReport, openSession, reportError, wantsJson, type GlobalFlags } from '../common.js';
import { EXIT } from '../exit-codes.js';
import { PLAIN, type Style } from '../style.js';
import { terminalSafe } from '../terminal-text.js';

export interface DevicesFlags extends GlobalFlags {
  device?: string[];
}

export async function devicesCommand(f: DevicesFlags): Promise<number> {
  let session;
  try {
    session = await openSession(f, 'devices', wantsJson(f));
    const result = await devices(session.inventory, session.engine);
    session.progress.done();
    await emitReport(wantsJson(f) ? `${JSON.stringify(result, null, 2)}\n` : renderDevices(result, f.device ?? [], session.out), f, session.secrets);
    return result.some((r) => r.error) ? EXIT.error : EXIT.ok;
  } catch (err) {
    session?.progress.done();
    return reportError(err, f, session?.secrets);
  }
}

export function renderDevices(raw: readonly NodeDevices[], chosen: readonly string[], s: Style = PLAIN): string {
  const nodes = terminalSafe(raw);
  const out: string[] = [];
  for (const n of nodes) {
    out.push(s.bold(`${n.cluster}/${n.node}`) + (n.iommuActive === false ? s.yellow('  (IOMMU not active: groups unknown)') : ''));
    if (n.error) { out.push(s.red(`  error: ${n.error.message}`)); continue; }
    for (const d of n.devices) {
      const flags: string[] = [];
      if (d.hostNeeds.length) flags.push(s.red(`HOST NEEDS IT: ${d.hostNeeds.join('; ')}`));
      if (d.bootVga) flags.push(s.yellow('boot console GPU'));
      if (d.iommuGroup !== null && !d.isolated) flags.push(s.yellow(`shares group with ${d.groupPeers.join(', ')}`));
      if (d.twins.length) flags.push(s.dim(`same id as ${d.twins.join(', ')}`));
      const verdict = d.hostNeeds.length ? s.red('no') : d.isolated ? s.green('yes') : d.iommuGroup === null ? s.dim('?') : s.yellow('no');
      out.push(`  ${d.address}  [${d.id}]  ${d.className}: ${d.description}`);
      out.push(`      driver ${d.driver ?? '-'}, group ${d.iommuGroup ?? '-'}, can pass through: ${verdict}${flags.length ? `  ${flags.join('  ')}` : ''}`);
    }
    const picks = n.devices.filter((d) => chosen.includes(d.address));
    if (picks.length) {
      out.push(s.bold('  inventory snippet for this node:'));
      out.push(`    "devices": ${JSON.stringify(picks.map((d) => ({ address: d.address, id: d.id })))}`);
    }
  }
  return `${out.join('\n')}\n`;
}
