/**
 * Reboot a node over SSH and wait until it is back with a new boot_id.
 * `systemctl reboot` dropping our connection is the expected outcome; the
 * proof that the reboot happened is a different /proc/sys/kernel/random/boot_id.
 */
import { RemoteCommandError, SshError } from '../../errors.js';
import { cmd, render, type Script } from '../shell.js';
import type { ExecOptions, ExecResult } from '../types.js';
import { ErrorCode } from '../../error-codes.js';

/** What rebootAndWait needs from a host; SshHost provides it. */
export interface RebootableHost {
  readonly node: string;
  readonly isConnected: boolean;
  exec(script: Script, opts?: ExecOptions): Promise<ExecResult>;
  reconnect(opts?: { readyTimeoutMs?: number }): Promise<void>;
}

export interface RebootWaitOptions {
  /** boot_id read before the reboot. */
  readonly bootIdBefore: string;
  readonly timeoutMs: number;
  /** First pause between attempts; doubles up to maxPollMs (if larger). Default 2 s. */
  readonly pollMs?: number;
  /**
   * Default pollMs: flat polling. Each attempt is one TCP connect, and how late
   * the node's return is noticed (time the rollout loses per reboot) is bounded
   * by this value; a doubling backoff lost up to the whole reboot time again.
   */
  readonly maxPollMs?: number;
  /** Timeout of the `systemctl reboot` exec itself. Default 15 s. */
  readonly commandTimeoutMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const REBOOT_SCRIPT = render(cmd(['systemctl', 'reboot'])) as Script;
export const BOOT_ID_SCRIPT = render(cmd(['cat', '/proc/sys/kernel/random/boot_id'])) as Script;
const BOOT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Longest single connect or boot_id read during the wait, so a half-dead connection cannot eat the budget. */
const ATTEMPT_CAP_MS = 10_000;
/** ... and the shortest, so the last attempt before the deadline can still succeed (may overrun it by this much). */
const ATTEMPT_MIN_MS = 1_000;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function rebootAndWait(host: RebootableHost, o: RebootWaitOptions): Promise<{ bootId: string; downMs: number }> {
  const now = o.now ?? Date.now;
  const sleep = o.sleep ?? defaultSleep;
  const pollMs = o.pollMs ?? 2_000;
  const maxPollMs = o.maxPollMs ?? pollMs;
  const before = o.bootIdBefore.trim();
  const start = now();
  const deadline = start + o.timeoutMs;

  await issueReboot(host, o.commandTimeoutMs ?? 15_000);

  let delay = pollMs;
  let fresh = true; // the connection that ran the reboot is not trusted for polling
  let last = 'no answer yet';
  while (true) {
    const remaining = deadline - now();
    if (remaining <= 0) break;
    await sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, maxPollMs);
    const budget = Math.min(ATTEMPT_CAP_MS, Math.max(ATTEMPT_MIN_MS, deadline - now()));
    try {
      if (fresh || !host.isConnected) {
        await host.reconnect({ readyTimeoutMs: budget });
        fresh = false;
      }
      const r = await host.exec(BOOT_ID_SCRIPT, { timeoutMs: budget });
      const id = r.stdout.trim();
      if (r.code === 0 && BOOT_ID.test(id) && id !== before) return { bootId: id, downMs: now() - start };
      if (r.code === null) fresh = true;
      last = r.code === null ? 'reading boot_id timed out or the connection dropped'
        : r.code === 0 && id === before ? 'the node answers with the old boot_id (not rebooted yet)'
          : `reading boot_id failed with exit ${r.code}`;
    } catch (err) {
      fresh = true;
      last = err instanceof Error ? err.message : String(err);
    }
  }
  throw new SshError(ErrorCode.REBOOT_TIMEOUT, `${host.node} did not come back with a new boot_id within ${seconds(o.timeoutMs)} s after the reboot (last: ${last})`, {
    node: host.node, step: 'reboot', fix: "check the node's console/BMC; the rollout of its cluster was stopped",
  });
}

function seconds(ms: number): string {
  return ms < 10_000 ? String(Math.round(ms / 100) / 10) : String(Math.round(ms / 1000));
}

/** A dropped connection, a killed channel or exit 0 all mean the reboot is under way. */
async function issueReboot(host: RebootableHost, timeoutMs: number): Promise<void> {
  let r: ExecResult;
  try {
    r = await host.exec(REBOOT_SCRIPT, { timeoutMs });
  } catch (err) {
    if (err instanceof SshError && err.code === ErrorCode.SSH_CLOSED) return; // gone before the channel opened
    if (err instanceof SshError && err.code === ErrorCode.SSH_EXEC) return; // channel refused because the host is going down
    throw err;
  }
  if (r.code === 0 || r.code === null) return;
  const stderr = r.stderr.trim().slice(0, 500);
  throw new RemoteCommandError(`systemctl reboot failed on ${host.node} with exit ${r.code}${stderr ? `: ${stderr}` : ''}`, r.code, r.stderr, {
    node: host.node, step: 'reboot', fix: 'check that the SSH user may reboot (root, or sudo without a password)',
  });
}
