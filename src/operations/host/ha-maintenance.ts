/**
 * HA maintenance the tool itself turned on. Before `ha-manager crm-command
 * node-maintenance enable`, apply writes HA_MAINTENANCE_FILE naming its run;
 * it removes the file once maintenance is disabled again. Maintenance survives
 * reboots (pve-docs ha-manager.adoc), so a run killed in between leaves the node
 * in maintenance: the file is how the next plan and verify know it was ours
 * (an operator's own maintenance has no such file and is never touched). Pure.
 */
import { HA_MAINTENANCE_FILE } from '../../facts/host/script.js';
import type { HostFacts } from '../../facts/host/types.js';
import type { Check, HostStep } from '../types.js';

/** The marker's content for one run. */
export function haMaintenanceMarker(runId: string): string {
  return `run=${runId}\n`;
}

/** The run that turned maintenance on and did not turn it off, or null. */
export function haMaintenanceLeftBy(facts: Pick<HostFacts, 'files'>): string | null {
  const content = facts.files[HA_MAINTENANCE_FILE]?.content;
  if (content === undefined || content === null) return null;
  return /^run=([A-Za-z0-9_.-]{1,80})$/m.exec(content)?.[1] ?? 'an unknown run';
}

/** The step that ends it, first in the node's plan; none when the marker is absent. */
export function leaveHaMaintenanceSteps(facts: Pick<HostFacts, 'files'>): HostStep[] {
  const run = haMaintenanceLeftBy(facts);
  if (run === null) return [];
  return [{ kind: 'leave-ha-maintenance', run, reason: `run ${run} put the node in HA maintenance and did not finish` }];
}

/** `runId`: the run verifying (apply's own verification runs while its maintenance is still on). */
export function haMaintenanceCheck(facts: Pick<HostFacts, 'files'>, node: string, runId?: string): Check {
  const run = haMaintenanceLeftBy(facts);
  if (run !== null && run === runId) return { id: 'ha-maintenance', status: 'na', message: 'in HA maintenance by this run; it ends it after verification' };
  return run === null
    ? { id: 'ha-maintenance', status: 'na', message: 'not in HA maintenance by pve-passthrough' }
    : {
        id: 'ha-maintenance',
        status: 'fail',
        message: `left in HA maintenance by run ${run}, which did not finish: HA keeps its resources off the node; re-run apply (it ends it) or run \`ha-manager crm-command node-maintenance disable ${node}\``,
        evidence: HA_MAINTENANCE_FILE,
      };
}

/** `ha-manager crm-command node-maintenance` exists from PVE 7.3 (an unreadable release: assume it does not). */
export function hasHaMaintenanceMode(release: { readonly major: number; readonly minor: number } | null): boolean {
  return release !== null && (release.major > 7 || (release.major === 7 && release.minor >= 3));
}
