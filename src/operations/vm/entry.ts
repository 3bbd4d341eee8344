import type { Hostpci } from '../../formats/hostpci.js';
import type { HostpciEntry } from '../../inventory/schema.js';

/** The inventory entry as a hostpci value (the inventory's host is a single id). */
export function entryToHostpci(e: HostpciEntry): Hostpci {
  const { host, ...rest } = e;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) out[k] = v;
  if (host !== undefined) out.host = [host];
  return out as Hostpci;
}
