/**
 * --wait-lease and --break-lease, for every command that takes the run lease
 * (apply, rollback): one reading of the flags, one consent prompt.
 */
import { InputError } from '../errors.js';
import type { LeaseOptions } from '../engine/lease.js';
import { confirm } from './prompt.js';
import { escapeControl } from './terminal-text.js';

export interface LeaseFlags {
  waitLease?: string;
  breakLease?: boolean;
  yes?: boolean;
}

/** `pause`: called before the prompt (the progress display must let go of the terminal). */
export function leaseOptions(f: LeaseFlags, pause: () => void = () => {}): LeaseOptions {
  const waitSeconds = f.waitLease === undefined ? 0 : Number(f.waitLease);
  if (!Number.isInteger(waitSeconds) || waitSeconds < 0) throw new InputError('--wait-lease must be a whole number of seconds ≥ 0');
  if (!f.breakLease) return { waitSeconds };
  return {
    waitSeconds,
    breakLease: async (holder: string) => {
      if (f.yes) return true;
      pause();
      return confirm(`The lease is held by ${escapeControl(holder)}. Break it? Only do this when that run is dead.`);
    },
  };
}

/** The two options, as apply and rollback declare them. */
export const LEASE_OPTIONS: readonly (readonly [string, string])[] = [
  ['--wait-lease <seconds>', 'when another run holds the cluster\'s lease, wait up to this long for it (default: refuse at once, naming it)'],
  ['--break-lease', 'take over the lease of another run that is still live (asks first; --yes agrees)'],
];
