import type { Check } from '../operations/types.js';

/** A verified node or VM's progress event: drift shows as failed, so a ✔ always means compliant. */
export function checkedStatus(checks: readonly Check[]): { status: 'done' | 'failed'; message: string } {
  const failing = checks.filter((c) => c.status === 'fail').length;
  return { status: failing > 0 ? 'failed' : 'done', message: `${failing} failing check(s)` };
}
