/**
 * Checks for a VM after apply: the machine, each declared hostpci entry, and
 * that nothing is only pending. Pure; same Check shape as the host checks.
 */
import { HOSTPCI_KEYS, hostpciEqual, hostpciIndex, serialiseHostpci } from '../../formats/hostpci.js';
import { isQ35, parseMachine } from '../../formats/machine.js';
import type { Vm } from '../../inventory/schema.js';
import type { Check } from '../types.js';
import type { MappingAction } from './mapping-plan.js';
import { entryToHostpci } from './entry.js';
import { keepCurrentHostpci } from './keep-current.js';
import type { PendingItem } from './types.js';

export type { VmObserved } from '../../facts/vm/types.js';
import type { VmObserved } from '../../facts/vm/types.js';

function same(a: string, b: string): boolean {
  try {
    return hostpciEqual(a, b);
  } catch {
    return false;
  }
}

export function verifyVm(desired: Vm, observed: VmObserved): Check[] {
  const checks: Check[] = [];
  const cfg = observed.config;
  // The planner's entries: with exact: false, options left unset are the VM's own.
  const { wanted } = keepCurrentHostpci(desired, cfg);
  const wantsPcie = wanted.some((e) => e.pcie === true);
  const evidence = `machine: ${cfg.machine ?? '(unset = pc)'}${observed.runningMachine ? `; running: ${observed.runningMachine}` : ''}`;
  if (desired.machine !== undefined) {
    const want = parseMachine(desired.machine);
    const have = cfg.machine ? parseMachine(cfg.machine) : {};
    // Type and vIOMMU are what the inventory declares; other machine options are not ours.
    const ok = (want.type ?? 'pc') === (have.type ?? 'pc') && want.viommu === have.viommu;
    checks.push({ id: 'vm-machine', status: ok ? 'pass' : 'fail', message: ok ? `machine is ${desired.machine}` : `machine should be ${desired.machine}`, evidence });
  } else if (wantsPcie) {
    const ok = isQ35(cfg.machine);
    checks.push({ id: 'vm-machine', status: ok ? 'pass' : 'fail', message: ok ? 'q35 machine (needed for pcie=1)' : 'pcie=1 needs a q35 machine', evidence });
  } else {
    checks.push({ id: 'vm-machine', status: 'na', message: 'no machine type declared' });
  }

  wanted.forEach((e, n) => {
    const want = serialiseHostpci(e);
    const key = HOSTPCI_KEYS.find((k) => cfg[k] !== undefined && same(cfg[k] as string, want));
    checks.push(key
      ? { id: `vm-hostpci:${n}`, status: 'pass', message: `${key} passes ${want}`, evidence: `${key}: ${cfg[key]}` }
      : { id: `vm-hostpci:${n}`, status: 'fail', message: `no hostpci entry in effect for ${want}` });
  });
  if (desired.manageAllHostpci) {
    const extra = HOSTPCI_KEYS.filter((k) => cfg[k] !== undefined && !desired.hostpci.some((e) => same(cfg[k] as string, serialiseHostpci(entryToHostpci(e)))));
    if (extra.length) checks.push({ id: 'vm-hostpci:undeclared', status: 'fail', message: `undeclared entries still present: ${extra.join(', ')}` });
  }

  const pending = observed.pending.filter((p) => (hostpciIndex(p.key) !== undefined || p.key === 'machine') && (p.pending !== undefined || p.delete !== undefined));
  checks.push(pending.length
    ? {
      id: 'vm-pending', status: 'fail',
      message: `changes only pending until the VM is stopped and started: ${pending.map((p) => p.key).join(', ')}`,
      evidence: pending.map((p) => (p.delete ? `${p.key}: delete` : `${p.key}: ${p.pending}`)).join('; '),
    }
    : { id: 'vm-pending', status: 'pass', message: 'no hostpci or machine change is pending' });
  return checks;
}

/** mapping:<id> checks from a mapping plan made after apply: `none` means the cluster matches the hardware. */
export function verifyMappings(actions: readonly MappingAction[]): Check[] {
  return actions.map((a) => (a.kind === 'none'
    ? { id: `mapping:${a.id}`, status: 'pass' as const, message: `mapping ${a.id} matches the hardware`, evidence: a.map.join(' ') }
    : { id: `mapping:${a.id}`, status: 'fail' as const, message: a.kind === 'create' ? `mapping ${a.id} does not exist` : `mapping ${a.id} differs from the hardware`, evidence: a.map.join(' ') }));
}
