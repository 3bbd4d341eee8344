/**
 * Executing one node's file steps and refreshes, with a backup and a manifest
 * for every change. Compare-and-swap: before anything is written, every
 * target is copied on the host (its actual bytes, mode and owner) and the
 * copy's hash must equal the plan's `before`; otherwise the node is refused
 * ("changed since the plan", with a diff) and nothing is written. Restores
 * copy those backups back on the host, byte for byte. A failed refresh
 * restores every file this run changed on the node, runs the refresh again
 * to match, and stops before any reboot.
 * Live-bind steps run last, once the persistent configuration is in place:
 * `modprobe vfio-pci`, then per function driver_override, unbind, bind.
 */
import { createHash, randomBytes } from 'node:crypto';
import { RemoteCommandError, SafetyError } from '../errors.js';
import { PCI_ADDRESS, MODULE_NAME } from '../patterns.js';
import type { HostStep } from '../operations/types.js';
import { all, atomicWrite, backupPathFor, batch, cmd, hashFile, lockHolder, parseBatch, releaseLock, removeFile, render, restoreFromBackup, snapshotFile, STATE_DIR, takeLock, UnsafeArgumentError, type Script } from '../transport/shell.js';
import type { ExecResult, RemoteHost } from '../transport/types.js';
import { ErrorCode } from '../error-codes.js';

export interface ManifestEntry {
  readonly path: string;
  readonly existed: boolean;
  readonly backup: string | null;
  readonly sha256Before: string | null;
  readonly sha256After: string | null;
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
}

export interface Manifest {
  readonly version: 1;
  readonly runId: string;
  readonly node: string;
  readonly createdAt: string;
  readonly files: ManifestEntry[];
}

export const REFRESH_ARGV: Record<Extract<HostStep, { kind: 'refresh' }>['command'], string[]> = {
  'update-initramfs': ['update-initramfs', '-u', '-k', 'all'],
  'update-grub': ['update-grub'],
  'proxmox-boot-tool-refresh': ['proxmox-boot-tool', 'refresh'],
};

export function manifestPath(runId: string): string {
  return `${STATE_DIR}/backups/${runId}/manifest.json`;
}

const sha = (s: string | null): string | null => (s === null ? null : createHash('sha256').update(s, 'utf8').digest('hex'));

export interface HostApplyOptions {
  readonly runId: string;
  readonly now: () => Date;
  readonly onStep?: (message: string) => void;
  readonly signal?: AbortSignal;
  /** How long the node's refreshes may take together (policy.refreshTimeoutSeconds). */
  readonly refreshTimeoutMs: number;
}

export interface HostApplyResult {
  readonly stepsDone: number;
  readonly manifest: Manifest;
}

/** Run a script (the transport adds sudo for non-root logins), throwing RemoteCommandError with the command's stderr on failure. */
export async function run(host: RemoteHost, script: Script, what: string, stdin?: string, timeoutMs = 600_000): Promise<string> {
  const r = await host.exec(script, { stdin, timeoutMs });
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ');
    throw new RemoteCommandError(`${what} failed (exit ${r.code ?? 'none: connection lost'})${detail ? `: ${detail}` : ''}`, r.code, r.stderr, { node: host.node, step: what });
  }
  return r.stdout;
}

export interface NodeLockOptions {
  /** This run: named inside the lock. */
  readonly runId?: string;
  /** Runs known dead (their lease expired or was broken and this run took it over): a node lock they left is removed. */
  readonly deadRuns?: ReadonlySet<string>;
}

export async function withNodeLock<T>(host: RemoteHost, fn: () => Promise<T>, o: NodeLockOptions = {}): Promise<T> {
  let r = await host.exec(takeLock(o.runId));
  if (r.code !== 0 && o.deadRuns?.size) {
    const owner = /^\/run\/pve-passthrough\.lock\/([A-Za-z0-9][A-Za-z0-9_.-]*)$/m.exec((await host.exec(lockHolder())).stdout)?.[1];
    if (owner !== undefined && o.deadRuns.has(owner)) {
      await host.exec(releaseLock(owner));
      r = await host.exec(takeLock(o.runId));
    }
  }
  if (r.code !== 0) {
    throw new RemoteCommandError(
      'another pve-passthrough run holds this node (/run/pve-passthrough.lock exists)',
      r.code,
      r.stderr,
      { node: host.node, step: 'lock', fix: 'wait for the other run to finish; if none is running, remove /run/pve-passthrough.lock on the node' },
    );
  }
  try {
    return await fn();
  } finally {
    await host.exec(releaseLock(o.runId)).catch(() => undefined);
  }
}

type FileStep = Extract<HostStep, { kind: 'write-file' | 'remove-file' }>;

type RefreshStep = Extract<HostStep, { kind: 'refresh' }>;

/** Writes and refreshes (everything but the reboot). Call under the node lock. */
export async function applyHostSteps(host: RemoteHost, steps: readonly HostStep[], o: HostApplyOptions): Promise<HostApplyResult> {
  const manifest: Manifest = { version: 1, runId: o.runId, node: host.node, createdAt: o.now().toISOString(), files: [] };
  const fileSteps = steps.filter((s): s is FileStep => s.kind === 'write-file' || s.kind === 'remove-file');
  let done = await applyFileSteps(host, fileSteps, manifest, o);
  done += await runRefreshes(host, steps.filter((s): s is RefreshStep => s.kind === 'refresh'), manifest, o);
  done += await runLiveBinds(host, steps.filter((s): s is LiveBindStep => s.kind === 'live-bind'), o);
  return { stepsDone: done, manifest };
}

/**
 * Every file step, the manifest rewritten after each. Compare-and-swap first:
 * every target is backed up and checked before the first write. A failure
 * puts back what this run wrote (a half-done state a re-run cannot see).
 */
async function applyFileSteps(host: RemoteHost, fileSteps: readonly FileStep[], manifest: Manifest, o: HostApplyOptions): Promise<number> {
  const snapshots = await snapshotTargets(host, fileSteps, o.runId);
  const writeManifest = () => {
    const text = `${JSON.stringify(manifest, null, 1)}\n`;
    return run(host, atomicWrite(manifestPath(o.runId), { mode: '0600', uid: 0, gid: 0, sha256: sha(text)! }), 'write backup manifest', text);
  };
  let done = 0;
  try {
    for (const step of fileSteps) {
      if (o.signal?.aborted) throw abortError(host.node);
      const snap = snapshots.get(step.path)!;
      const existed = snap.sha256 !== null;
      if (step.kind === 'write-file') {
        o.onStep?.(`write ${step.path}`);
        const entry: ManifestEntry = { path: step.path, existed, backup: snap.backup, sha256Before: snap.sha256, sha256After: sha(step.after), mode: step.mode, uid: step.uid, gid: step.gid };
        await writeFile(host, step, () => {
          manifest.files.push(entry);
          return writeManifest();
        });
        manifest.files.push(entry);
      } else {
        o.onStep?.(`remove ${step.path}`);
        await run(host, removeFile(step.path), `remove ${step.path}`);
        manifest.files.push({ path: step.path, existed, backup: snap.backup, sha256Before: snap.sha256, sha256After: null, mode: '0644', uid: 0, gid: 0 });
      }
      done++;
      // The manifest is rewritten after every file, so an interrupted run can still be rolled back.
      await writeManifest();
    }
  } catch (err) {
    if (manifest.files.length > 0 && err instanceof Error) {
      const restored = await restoreFromManifest(host, manifest.files).then(() => true, () => false);
      err.message += restored
        ? `; the ${manifest.files.length} file(s) this run had written on the node were restored from their backups`
        : `; restoring the ${manifest.files.length} file(s) this run had written FAILED: run \`pve-passthrough rollback --node ${host.node} --run ${o.runId}\``;
    }
    throw err;
  }
  return done;
}

/**
 * One atomic write. When the connection drops mid-write, the error says which
 * version the target holds (the write form never leaves it partial);
 * `recordNew` records a write that completed all the same.
 */
async function writeFile(host: RemoteHost, step: Extract<FileStep, { kind: 'write-file' }>, recordNew: () => Promise<unknown>): Promise<void> {
  try {
    await run(host, atomicWrite(step.path, { mode: step.mode, uid: step.uid, gid: step.gid, sha256: sha(step.after)! }), `write ${step.path}`, step.after);
  } catch (err) {
    if (!(err instanceof RemoteCommandError) || err.exitCode !== null) throw err;
    const version = await versionOnDisk(host, step);
    if (version === 'new') await recordNew().catch(() => undefined);
    const state = version === 'new' ? 'the write had completed (new version)' : version === 'old' ? 'it is unchanged (the old version)' : 'its state could not be read back: check it by hand';
    throw new RemoteCommandError(`${err.message}; ${step.path} is never left partial: ${state}`, null, err.stderr, { node: host.node, step: `write ${step.path}`, fix: 'check why the SSH connection to the node dropped' });
  }
}

/**
 * All of a node's refreshes in ONE exec: a tool killed between update-initramfs and update-grub
 * would leave a new initramfs behind an old loader (found by test/safety/crash-points-kill.test.ts).
 * Each command that finished prints a line, so a failure still names the command that failed;
 * then every file this run changed is restored and the boot files refreshed to match.
 */
async function runRefreshes(host: RemoteHost, refreshes: readonly RefreshStep[], manifest: Manifest, o: HostApplyOptions): Promise<number> {
  if (refreshes.length === 0) return 0;
  const commands = refreshes.map((r) => r.command);
  o.onStep?.(refreshLine(commands));
  const { finished, error } = await execRefreshes(host, commands, o.refreshTimeoutMs, 'apply');
  if (!error) return finished;
  await restoreFromManifest(host, manifest.files);
  await execRefreshes(host, commands, o.refreshTimeoutMs, 'apply').catch(() => undefined);
  throw error;
}

export type RefreshCommand = RefreshStep['command'];

/** The refreshes as one progress line, as they run: `update-initramfs -u -k all && update-grub`. */
export function refreshLine(commands: readonly RefreshCommand[]): string {
  return commands.map((c) => REFRESH_ARGV[c].join(' ')).join(' && ');
}

/**
 * A node's refreshes in one exec (apply and rollback alike), each finished one marked on stdout.
 * The error (null on success) names the command that failed or ran out of time; the caller puts
 * its files back and refreshes again before throwing it.
 */
export async function execRefreshes(host: RemoteHost, commands: readonly RefreshCommand[], timeoutMs: number, rerun: 'apply' | 'rollback'): Promise<{ finished: number; error: RemoteCommandError | null }> {
  const script = all(...commands.flatMap((c) => [cmd(REFRESH_ARGV[c]), cmd(['printf', '%s\\n', `@@refreshed ${c}`])]));
  const res = await host.exec(script, { timeoutMs });
  const finished = commands.filter((c) => res.stdout.includes(`@@refreshed ${c}\n`)).length;
  if (res.code === 0) return { finished, error: null };
  const failed = REFRESH_ARGV[commands[Math.min(finished, commands.length - 1)]!].join(' ');
  return { finished, error: refreshFailure(host.node, failed, res, timeoutMs, rerun) };
}

/** A refresh that failed or ran out of time, with the fix that fits (a timeout is a setting, not a broken host). */
function refreshFailure(node: string, what: string, res: ExecResult, timeoutMs: number, rerun: 'apply' | 'rollback'): RemoteCommandError {
  const detail = (res.stderr || res.stdout.replace(/^@@refreshed .*\n/gm, '')).trim().split('\n').slice(-5).join(' | ');
  const restored = 'every file changed on this node was restored from its backup and no reboot was done';
  if (res.timedOut === true) {
    const s = Math.round(timeoutMs / 1000);
    return new RemoteCommandError(`${what} did not finish within ${s} s (policy.refreshTimeoutSeconds) and was stopped; ${restored}`, null, res.stderr, {
      node, step: what, fix: `raise policy.refreshTimeoutSeconds above ${s} for this cluster (slow disks and many installed kernels make the refresh slow), then re-run ${rerun}`,
    });
  }
  return new RemoteCommandError(`${what} failed (exit ${res.code ?? 'none: connection lost'})${detail ? `: ${detail}` : ''}; ${restored}`, res.code, res.stderr, {
    node, step: what, fix: `fix the cause shown by the command, then re-run ${rerun}`,
  });
}

/** Live binds, last, once the persistent configuration is in place: `modprobe vfio-pci`, then each function. */
async function runLiveBinds(host: RemoteHost, liveBinds: readonly LiveBindStep[], o: HostApplyOptions): Promise<number> {
  if (liveBinds.length === 0) return 0;
  o.onStep?.('modprobe vfio-pci');
  await run(host, render(cmd(['modprobe', 'vfio-pci'])) as Script, 'modprobe vfio-pci');
  let done = 0;
  for (const step of liveBinds) {
    if (o.signal?.aborted) throw abortError(host.node);
    const what = `bind ${step.address} to vfio-pci${step.from ? ` (from ${step.from})` : ''}`;
    o.onStep?.(what);
    try {
      await run(host, liveBindScript(step.address, step.from), what);
    } catch (err) {
      if (step.from !== null) await run(host, giveBackScript(step.address, step.from), `give ${step.address} back to ${step.from}`).catch(() => undefined);
      const e = err as RemoteCommandError;
      throw new RemoteCommandError(
        `${e.message}; the persistent configuration is written, so vfio-pci takes the device at the next boot`,
        e.exitCode,
        e.stderr,
        { node: host.node, step: what, fix: 'stop whatever holds the device and re-run apply, or reboot the node (apply --reboot=always)' },
      );
    }
    done++;
  }
  return done;
}

type LiveBindStep = Extract<HostStep, { kind: 'live-bind' }>;

const PCI_DEVICES = '/sys/bus/pci/devices';

function checkAddress(address: string): string {
  if (!PCI_ADDRESS.test(address)) throw new UnsafeArgumentError(address, 'is not a PCI address');
  return address;
}

/**
 * Pin the function to vfio-pci, take it from its driver, bind it. A function
 * without a driver is probed instead (vfio-pci may have claimed it already
 * when it loaded, and a probe of a bound device is a no-op).
 */
export function liveBindScript(address: string, from: string | null): Script {
  const dev = `${PCI_DEVICES}/${checkAddress(address)}`;
  // `from` only decides the form, but a value that is no driver name means the step was not made by the planner.
  if (from !== null && !MODULE_NAME.test(from)) throw new UnsafeArgumentError(from, 'is not a driver name');
  const pin = cmd(['printf', '%s', 'vfio-pci'], { stdoutTo: `${dev}/driver_override` });
  if (from === null) return all(pin, cmd(['printf', '%s', address], { stdoutTo: '/sys/bus/pci/drivers_probe' }));
  return all(
    pin,
    cmd(['printf', '%s', address], { stdoutTo: `${dev}/driver/unbind` }),
    cmd(['printf', '%s', address], { stdoutTo: '/sys/bus/pci/drivers/vfio-pci/bind' }),
  );
}

/** After a failed bind: let the host driver have the function again (its override names that driver until the next boot). */
export function giveBackScript(address: string, driver: string): Script {
  if (!MODULE_NAME.test(driver)) throw new UnsafeArgumentError(driver, 'is not a driver name');
  const dev = `${PCI_DEVICES}/${checkAddress(address)}`;
  return all(
    cmd(['printf', '%s', driver], { stdoutTo: `${dev}/driver_override` }),
    cmd(['printf', '%s', address], { stdoutTo: '/sys/bus/pci/drivers_probe' }),
  );
}

/**
 * Put back what a run changed, newest first, from the backups on the host:
 * byte for byte (cp -p of the backup), or removed when it did not exist.
 */
export async function restoreFromManifest(host: RemoteHost, files: readonly ManifestEntry[]): Promise<void> {
  for (const f of [...files].reverse()) {
    if (f.existed && f.backup) await run(host, restoreFromBackup(f.path, f.backup), `restore ${f.path}`);
    else await run(host, removeFile(f.path), `restore ${f.path}`);
  }
}

/** sha256 of a file's bytes on the host; null when it does not exist. */
export async function hashOnHost(host: RemoteHost, path: string): Promise<string | null> {
  const r = await host.exec(hashFile(path));
  if (r.code === 0) {
    const h = /^([0-9a-f]{64})\s/.exec(r.stdout)?.[1];
    if (h) return h;
  }
  if (r.code === 1) return null;
  throw new RemoteCommandError(`sha256sum ${path} failed (exit ${r.code ?? 'none: connection lost'})`, r.code, r.stderr, { node: host.node, step: `hash ${path}` });
}

interface Snapshot {
  readonly backup: string | null;
  /** Hash of the backup's bytes (= the target's when it was copied); null: the target did not exist. */
  readonly sha256: string | null;
}

/**
 * Back up every target on the host and check it against the plan's `before`.
 * Any difference refuses the node before anything is written, showing a diff.
 */
async function snapshotTargets(host: RemoteHost, steps: readonly FileStep[], runId: string): Promise<Map<string, Snapshot>> {
  const out = new Map<string, Snapshot>();
  const changed: FileStep[] = [];
  for (const step of steps) {
    let snap: Snapshot = { backup: null, sha256: null };
    if (step.before === null) {
      const h = await hashOnHost(host, step.path);
      if (h !== null) changed.push(step);
    } else {
      const backup = backupPathFor(runId, step.path);
      const r = await host.exec(snapshotFile(step.path, backup));
      const h = r.code === 0 ? /^([0-9a-f]{64})\s/.exec(r.stdout)?.[1] : undefined;
      if (h) snap = { backup, sha256: h };
      else if (!(r.code === 1 && r.stdout === '' && r.stderr === '')) {
        throw new RemoteCommandError(`backup of ${step.path} failed (exit ${r.code ?? 'none: connection lost'}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, r.code, r.stderr, { node: host.node, step: `backup ${step.path}`, fix: 'check free space and permissions under /var/lib/pve-passthrough on the node' });
      }
      if (snap.sha256 !== sha(step.before)) changed.push(step);
    }
    out.set(step.path, snap);
  }
  if (changed.length > 0) {
    const details: string[] = [];
    for (const step of changed) details.push(`${step.path}: ${describeChange(step.before, await readText(host, step.path))}`);
    throw new SafetyError(ErrorCode.CHANGED_SINCE_PLAN, `changed since the plan, so nothing was written on this node: ${details.join('; ')}`, {
      node: host.node, step: 'compare-and-swap', fix: 'someone else changed the node: run plan again, review it, then apply',
    });
  }
  return out;
}

async function readText(host: RemoteHost, path: string): Promise<string | null> {
  const nonce = randomBytes(8).toString('hex');
  const r = await host.exec(batch([{ key: 'file', cmd: cmd(['cat', path]) }], nonce));
  const sec = parseBatch(r.stdout, nonce).get('file');
  return sec && sec.rc === 0 ? sec.output : null;
}

/** The difference between the plan's `before` and what is there now, for a person. */
export function describeChange(planned: string | null, now: string | null): string {
  if (planned === null && now === null) return 'unchanged';
  if (now === null) return 'the plan expected the file, now it is gone';
  if (planned === null) return `the plan expected no file, now there is one: ${lineDiff('', now)}`;
  if (planned === now) return 'its bytes are not the UTF-8 text the plan was made from (non-UTF-8 content), so the tool will not rewrite it';
  if (planned.split('\n').sort().join('\n') === now.split('\n').sort().join('\n')) return 'diff: the same lines in another order';
  if (planned.replace(/\n$/, '') === now.replace(/\n$/, '')) return 'diff: only the final newline differs';
  return lineDiff(planned, now);
}

/** Lines only in `a` (-) and only in `b` (+), at most 8 shown. */
function lineDiff(a: string, b: string): string {
  const la = a === '' ? [] : a.replace(/\n$/, '').split('\n');
  const lb = b === '' ? [] : b.replace(/\n$/, '').split('\n');
  const lines = [...la.filter((l) => !lb.includes(l)).map((l) => `-${l}`), ...lb.filter((l) => !la.includes(l)).map((l) => `+${l}`)];
  const shown = lines.slice(0, 8).map((l) => JSON.stringify(l.length > 120 ? `${l.slice(0, 117)}…` : l));
  return `diff: ${shown.join(' ')}${lines.length > 8 ? ` … (${lines.length - 8} more)` : ''}`;
}

/** Which version of a file whose write was cut off is on disk now, by checksum. */
async function versionOnDisk(host: RemoteHost, step: Extract<HostStep, { kind: 'write-file' }>): Promise<'old' | 'new' | 'unknown'> {
  const r = await host.exec(render(cmd(['sha256sum', step.path], { quietErrors: true })) as Script).catch(() => null);
  if (!r || r.code === null) return 'unknown';
  const got = r.code === 0 ? /^([0-9a-f]{64})\s/.exec(r.stdout)?.[1] ?? null : null;
  if (got !== null && got === sha(step.after)) return 'new';
  if (got === sha(step.before)) return 'old';
  return 'unknown';
}

function abortError(node: string): RemoteCommandError {
  return new RemoteCommandError('interrupted: stopped cleanly between steps', null, '', { node, step: 'interrupt', fix: 're-run apply; it resumes from the facts' });
}
