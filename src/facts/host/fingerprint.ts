/**
 * The facts fingerprint pins a saved plan to the state it was made from
 * (docs/architecture.md "Plan format"). Canonical JSON: object keys sorted,
 * volatile fields left out (bootId changes on every boot without changing
 * anything a plan depends on), and lists whose order means nothing sorted
 * (loaded modules, failed units).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../canonical-json.js';
import type { HostFacts } from './types.js';

/** The facts as the fingerprint sees them. */
export function fingerprintView(f: HostFacts): Omit<HostFacts, 'bootId'> {
  const { bootId: _volatile, ...rest } = f;
  return {
    ...rest,
    modulesLoaded: [...f.modulesLoaded].sort(),
    failedUnits: [...f.failedUnits].sort(),
  };
}

/** sha256 hex of the canonical JSON of the non-volatile facts. */
export function factsFingerprint(f: HostFacts): string {
  return createHash('sha256').update(canonicalJson(fingerprintView(f))).digest('hex');
}
