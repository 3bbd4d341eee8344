/**
 * qemu-server lets only root@pam with a password ticket set, change or delete a
 * hostpci entry with a raw `host=` address (a token never passes, even root's).
 * Since qemu-server 9.2.6 the same holds for any entry with `romfile=`
 * (commit 79782166, pve-api.md §0.5). The check also runs on the old value.
 */
import { hostpciIndex, parseHostpci } from '../../formats/hostpci.js';

export const ROOT_RULE_MESSAGE =
  "a raw host= hostpci entry can only be written by root@pam with a password ticket (no API token can); add rootTicket to the cluster's api section, or use a resource mapping (mapping=<id>)";

/** A raw `host=` entry, or (qemu-server >= 9.2.6, also on mapped devices) one with `romfile=`. */
function isRaw(value: string | undefined): boolean {
  if (value === undefined) return false;
  try {
    const h = parseHostpci(value);
    return h.host !== undefined || h.romfile !== undefined;
  } catch {
    return false; // not a valid entry: PVE rejects it on its own
  }
}

/** hostpci keys touched by a write: set or deleted. */
export function touchedHostpci(set: Readonly<Record<string, string>>, del: readonly string[]): string[] {
  return [...Object.keys(set), ...del].filter((k) => hostpciIndex(k) !== undefined);
}

/**
 * Whether this write needs root@pam. `before` is the config as it is now (for
 * entries being replaced or deleted).
 */
export function writeNeedsRoot(set: Readonly<Record<string, string>>, del: readonly string[], before: Readonly<Record<string, string>>): boolean {
  return touchedHostpci(set, del).some((k) => isRaw(set[k]) || isRaw(before[k]));
}
