/**
 * Open-file limits. Each simulated host is a listening socket plus one per
 * connection, and the tool keeps one connection per host for the whole run,
 * so 1000 hosts need a few thousand descriptors. Node cannot raise its own
 * limit; children are started through `sh -c 'ulimit -n …; exec …'` instead.
 */
import { execFileSync } from 'node:child_process';

let cached: { soft: number; hard: number } | null = null;

export function fdLimits(): { soft: number; hard: number } {
  if (cached) return cached;
  const read = (flag: string): number => {
    const out = execFileSync('sh', ['-c', `ulimit ${flag} -n`], { encoding: 'utf8' }).trim();
    return out === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(out);
  };
  cached = { soft: read('-S'), hard: read('-H') };
  return cached;
}

/** The command to spawn: unchanged when the soft limit already suffices. */
export function withFdLimit(cmd: string, args: readonly string[], need: number): [string, string[]] {
  const { soft, hard } = fdLimits();
  if (soft >= need) return [cmd, [...args]];
  if (hard < need) throw new Error(`need ${need} open files but the hard limit is ${hard}: raise it (e.g. in /etc/security/limits.conf) or run fewer hosts`);
  return ['sh', ['-c', `ulimit -n ${need} && exec "$@"`, 'sh', cmd, ...args]];
}
