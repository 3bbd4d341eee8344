/**
 * The root rule, decided here only: qemu-server lets only root@pam with a
 * password ticket set, change or delete a hostpci entry with a raw `host=`
 * address (a token never passes, even root's). Since qemu-server 9.2.6 the
 * same holds for any entry with `romfile=` (qemu-server commit 79782166, src/PVE/API2/Qemu.pm).
 * The check also runs on the old value. planVm refuses such a write up front;
 * the API client asks writeNeedsRoot to pick the root@pam session (and, as a
 * last guard, refuses without one).
 */
import { hostpciIndex, tryParseHostpci, type Hostpci } from '../../formats/hostpci.js';
import type { Refusal } from '../types.js';

export const ROOT_RULE_MESSAGE =
  "a raw host= hostpci entry can only be written by root@pam with a password ticket (no API token can); add rootTicket to the cluster's api section, or use a resource mapping (mapping=<id>)";

const ROMFILE_REASON =
  'romfile= can only be written by root@pam with a password ticket since qemu-server 9.2.6, also on mapped devices (a file under /usr/share/kvm/ is loaded into the guest); no API token can';
const ROMFILE_FIX = "add rootTicket to the cluster's api section, or drop romfile (rombar=1 reads the card's own ROM)";

const parsed = (value: string | undefined): Hostpci | undefined => (value === undefined ? undefined : tryParseHostpci(value));
const rawHost = (v: string | undefined): boolean => parsed(v)?.host !== undefined;
const romfile = (v: string | undefined): boolean => parsed(v)?.romfile !== undefined;

/** hostpci keys touched by a write: set or deleted. */
export function touchedHostpci(set: Readonly<Record<string, string>>, del: readonly string[]): string[] {
  return [...Object.keys(set), ...del].filter((k) => hostpciIndex(k) !== undefined);
}

/** Whether this write needs root@pam. `before` is the config as it is now (entries being replaced or deleted). */
export function writeNeedsRoot(set: Readonly<Record<string, string>>, del: readonly string[], before: Readonly<Record<string, string | undefined>>): boolean {
  return touchedHostpci(set, del).some((k) => rawHost(set[k]) || rawHost(before[k]) || romfile(set[k]) || romfile(before[k]));
}

/** The refusals of a write made without root@pam: one for raw host= entries, one for romfile=. */
export function rootRuleRefusals(subject: string, set: Readonly<Record<string, string>>, del: readonly string[], before: Readonly<Record<string, string | undefined>>): Refusal[] {
  const touched = touchedHostpci(set, del);
  const refused: Refusal[] = [];
  if (touched.some((k) => rawHost(set[k]) || rawHost(before[k]))) refused.push({ subject, reason: ROOT_RULE_MESSAGE });
  if (touched.some((k) => romfile(set[k]) || romfile(before[k]))) refused.push({ subject, reason: ROMFILE_REASON, fix: ROMFILE_FIX });
  return refused;
}
