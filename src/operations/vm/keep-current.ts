/**
 * A VM declared with `exact: false` (the --host flags without --exact) only
 * adds: the declared entries are resolved against the VM's config so that
 * what they leave unset is kept as the VM has it now.
 * - An entry for a device the VM already passes is that entry, with only the
 *   options the declaration sets changed (x-vga, rombar, romfile, pcie… stay).
 * - A new entry gets pcie=1 only when the VM is already q35 and the
 *   declaration leaves pcie unset: the machine type is not changed for it.
 * With `exact: true` the entries are exactly as declared. The planner and
 * verify both go through here, so they judge the same entries.
 */
import { HOSTPCI_KEYS, hostIdsOverlap, tryParseHostpci, type Hostpci } from '../../formats/hostpci.js';
import { isQ35 } from '../../formats/machine.js';
import type { Vm } from '../../inventory/schema.js';
import { KEPT_HINT } from '../host/keep-current.js';
import { entryToHostpci } from './entry.js';

export interface KeptHostpci {
  readonly wanted: readonly Hostpci[];
  readonly kept: readonly string[];
}


/** Same device, for matching a declared entry to the VM's: the same mapping id, or overlapping host ids. */
function passesSame(a: Hostpci, b: Hostpci): boolean {
  if (a.mapping !== undefined || b.mapping !== undefined) return a.mapping === b.mapping;
  return (a.host ?? []).some((x) => (b.host ?? []).some((y) => hostIdsOverlap(x, y)));
}

const show = (v: unknown): string => (v === true ? '1' : v === false ? '0' : String(v));

/** `same`: how the caller tells that two entries pass the same device (the planner resolves mappings through its table). */
export function keepCurrentHostpci(desired: Vm, config: Readonly<Record<string, string>>, same: (a: Hostpci, b: Hostpci) => boolean = passesSame): KeptHostpci {
  const declared = desired.hostpci.map(entryToHostpci);
  if (desired.exact) return { wanted: declared, kept: [] };
  const kept: string[] = [];
  const existing = HOSTPCI_KEYS.flatMap((key) => {
    const value = config[key];
    const parsed = value === undefined ? undefined : tryParseHostpci(value);
    return parsed ? [{ key, parsed }] : [];
  });
  const used = new Set<string>();
  const q35 = isQ35(config.machine);
  let unpcie = 0;
  const wanted = declared.map((w) => {
    const match = existing.find((e) => !used.has(e.key) && same(e.parsed, w));
    if (!match) {
      if (w.pcie !== undefined || !q35) {
        if (w.pcie === undefined) unpcie += 1;
        return w;
      }
      return { ...w, pcie: true };
    }
    used.add(match.key);
    const set = Object.fromEntries(Object.entries(w).filter(([k, v]) => v !== undefined && k !== 'host' && k !== 'mapping'));
    const keptOptions = Object.entries(match.parsed).filter(([k, v]) => v !== undefined && k !== 'host' && k !== 'mapping' && !(k in set));
    if (keptOptions.length) kept.push(`${match.key} ${keptOptions.map(([k, v]) => `${k}=${show(v)}`).join(',')} (${KEPT_HINT})`);
    return { ...match.parsed, ...set } as Hostpci;
  });
  if (unpcie > 0) {
    kept.push(`machine ${config.machine ?? 'pc (i440fx, the default)'}: new entries get no pcie=1, which needs q35 (not named; --exact to switch to q35)`);
  }
  return { wanted, kept };
}
