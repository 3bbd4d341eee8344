/**
 * Executing one node's file steps and refreshes, with a backup and a manifest
 * for every change. A failed refresh restores every file this run changed on
 * the node, runs the refresh again to match, and stops before any reboot.
 * Live-bind steps run last, once the persistent configuration is in place:
 * `modprobe vfio-pci`, then per function driver_override, unbind, bind.
 */
import { createHash } from 'node:crypto';
import { RemoteCommandError } from '../errors.js';
import { PCI_ADDRESS, MODULE_NAME } from '../patterns.js';
import type { HostStep } from '../operations/types.js';
import { all, atomicWrite, backupPathFor, cmd, releaseLock, removeFile, render, STATE_DIR, takeLock, UnsafeArgumentError, type Script } from '../transport/shell.js';
import type { RemoteHost } from '../transport/types.js';

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

const sha = (s: string | null): string | null => (s === null ? null : createHash('sha256').update(s).digest('hex'));

export interface HostApplyOptions {
  readonly runId: string;
  readonly now: () => Date;
  readonly onStep?: (message: string) => void;
  readonly signal?: AbortSignal;
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

export async function withNodeLock<T>(host: RemoteHost, fn: () => Promise<T>): Promise<T> {
  const r = await host.exec(takeLock());
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
    await host.exec(releaseLock()).catch(() => undefined);
  }
}

/** Writes and refreshes (everything but the reboot). */
export async function applyHostSteps(host: RemoteHost, steps: readonly HostStep[], o: HostApplyOptions): Promise<HostApplyResult> {
  const manifest: Manifest = { version: 1, runId: o.runId, node: host.node, createdAt: o.now().toISOString(), files: [] };
  const written: Extract<HostStep, { kind: 'write-file' | 'remove-file' }>[] = [];
  let done = 0;
  const fileSteps = steps.filter((s): s is Extract<HostStep, { kind: 'write-file' | 'remove-file' }> => s.kind === 'write-file' || s.kind === 'remove-file');
  const refreshes = steps.filter((s): s is Extract<HostStep, { kind: 'refresh' }> => s.kind === 'refresh');

  try {
    for (const step of fileSteps) {
      if (o.signal?.aborted) throw abortError(host.node);
      const existed = step.before !== null;
      const backup = existed ? backupPathFor(o.runId, step.path) : null;
      if (step.kind === 'write-file') {
        o.onStep?.(`write ${step.path}`);
        const entry: ManifestEntry = { path: step.path, existed, backup, sha256Before: sha(step.before), sha256After: sha(step.after), mode: step.mode, uid: step.uid, gid: step.gid };
        try {
          await run(host, atomicWrite(step.path, { mode: step.mode, uid: step.uid, gid: step.gid, backupTo: backup ?? undefined }), `write ${step.path}`, step.after);
        } catch (err) {
          if (!(err instanceof RemoteCommandError) || err.exitCode !== null) throw err;
          // The connection dropped mid-write. The write form never leaves the target partial: say which version it is.
          const version = await versionOnDisk(host, step);
          if (version === 'new') {
            manifest.files.push(entry);
            written.push(step);
            await run(host, atomicWrite(manifestPath(o.runId), { mode: '0600', uid: 0, gid: 0 }), 'write backup manifest', `${JSON.stringify(manifest, null, 1)}\n`).catch(() => undefined);
          }
          const state = version === 'new' ? 'the write had completed (new version)' : version === 'old' ? 'it is unchanged (the old version)' : 'its state could not be read back: check it by hand';
          throw new RemoteCommandError(`${err.message}; ${step.path} is never left partial: ${state}`, null, err.stderr, { node: host.node, step: `write ${step.path}`, fix: 'check why the SSH connection to the node dropped' });
        }
        manifest.files.push(entry);
      } else {
        o.onStep?.(`remove ${step.path}`);
        await run(host, removeFile(step.path, backup ?? undefined), `remove ${step.path}`);
        manifest.files.push({ path: step.path, existed, backup, sha256Before: sha(step.before), sha256After: null, mode: '0644', uid: 0, gid: 0 });
      }
      written.push(step);
      done++;
      // The manifest is rewritten after every file, so an interrupted run can still be rolled back.
      await run(host, atomicWrite(manifestPath(o.runId), { mode: '0600', uid: 0, gid: 0 }), 'write backup manifest', `${JSON.stringify(manifest, null, 1)}\n`);
    }
  } catch (err) {
    // Some files written and no refresh run is a half-done state a re-run cannot see: put back what this run wrote.
    if (written.length > 0 && err instanceof Error) {
      const restored = await restoreWritten(host, written).then(() => true, () => false);
      err.message += restored
        ? `; the ${written.length} file(s) this run had written on the node were restored from their backups`
        : `; restoring the ${written.length} file(s) this run had written FAILED: run \`pve-passthrough rollback --node ${host.node} --run ${o.runId}\``;
    }
    throw err;
  }

  const refreshed: Extract<HostStep, { kind: 'refresh' }>[] = [];
  for (const step of refreshes) {
    o.onStep?.(REFRESH_ARGV[step.command].join(' '));
    try {
      await run(host, render(cmd(REFRESH_ARGV[step.command])) as Script, REFRESH_ARGV[step.command].join(' '));
      refreshed.push(step);
      done++;
    } catch (err) {
      await restoreWritten(host, written);
      // Match the boot files to the restored configuration again.
      for (const r of refreshes) {
        await run(host, render(cmd(REFRESH_ARGV[r.command])) as Script, `${REFRESH_ARGV[r.command].join(' ')} (after restore)`).catch(() => undefined);
      }
      const e = err as RemoteCommandError;
      throw new RemoteCommandError(
        `${e.message}; every file changed on this node was restored from its backup and no reboot was done`,
        e.exitCode,
        e.stderr,
        { node: host.node, step: e.context.step, fix: 'fix the cause shown by the command, then re-run apply' },
      );
    }
  }
  const liveBinds = steps.filter((s): s is LiveBindStep => s.kind === 'live-bind');
  if (liveBinds.length) {
    o.onStep?.('modprobe vfio-pci');
    await run(host, render(cmd(['modprobe', 'vfio-pci'])) as Script, 'modprobe vfio-pci');
  }
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
  return { stepsDone: done, manifest };
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

async function restoreWritten(host: RemoteHost, written: readonly Extract<HostStep, { kind: 'write-file' | 'remove-file' }>[]): Promise<void> {
  for (const step of [...written].reverse()) {
    if (step.before === null) {
      await run(host, removeFile(step.path), `restore ${step.path}`);
    } else {
      const mode = step.kind === 'write-file' ? step.mode : '0644';
      const uid = step.kind === 'write-file' ? step.uid : 0;
      const gid = step.kind === 'write-file' ? step.gid : 0;
      await run(host, atomicWrite(step.path, { mode, uid, gid }), `restore ${step.path}`, step.before);
    }
  }
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
