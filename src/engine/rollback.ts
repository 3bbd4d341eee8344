/**
 * rollback: restore a node's files from one run's backups (the manifest and
 * its checksums), refresh the initramfs and boot loader, and reboot under the
 * same policy as apply. The rollback is itself a run with its own backups, so
 * it can be undone the same way.
 */
import { createHash } from 'node:crypto';
import type { Cluster, Inventory, Node } from '../inventory/schema.js';
import { InputError, SafetyError } from '../errors.js';
import type { RemoteHost } from '../transport/types.js';
import { assertRemotePath, atomicWrite, backupPathFor, batch, cmd, parseBatch, removeFile, restoreFromBackup, snapshotFile, STATE_DIR } from '../transport/shell.js';
import { createContext, type EngineContext, type EngineOptions } from './context.js';
import { errorInfo } from './errors.js';
import { execRefreshes, hashOnHost, manifestPath, refreshLine, restoreFromManifest, run as runScript, withNodeLock, type Manifest, type ManifestEntry, type RefreshCommand } from './host-apply.js';
import { refreshStepsForPaths } from '../operations/host/refresh.js';
import type { HostStep } from '../operations/types.js';
import { readFacts } from './node-facts.js';
import { RebootGate } from './reboot-gate.js';
import { acquireLeases, type RunLease } from './lease.js';
import type { ApplyNodeResult } from './types.js';
import { ErrorCode } from '../error-codes.js';

export interface RollbackOptions extends EngineOptions {
  readonly cluster?: string;
  readonly node: string;
  /** Run id to undo; default: the newest run with a manifest on the node. */
  readonly run?: string;
  /** Restore files changed since that run too (their current content is backed up first). */
  readonly force?: boolean;
}

export interface RollbackReport {
  readonly version: 1;
  readonly runId: string;
  readonly restoredRun: string | null;
  readonly result: ApplyNodeResult;
  readonly files: readonly { path: string; action: 'restored' | 'removed' | 'unchanged' }[];
}

export async function rollback(inventory: Inventory, o: RollbackOptions): Promise<RollbackReport> {
  const ctx = createContext(inventory, o);
  const cluster = inventory.clusters.find((c) => (o.cluster ? c.name === o.cluster : c.nodes.some((n) => n.name === o.node)));
  const node = cluster?.nodes.find((n) => n.name === o.node);
  if (!cluster || !node) throw new InputError(`node "${o.node}" is not in the inventory`, [], { fix: 'pass --node with a node name from the inventory' });
  const base = { cluster: cluster.name, node: node.name };
  const say: Say = (status, message) => ctx.emit({ type: 'node', ...base, status, message });
  let restoredRun: string | null = null;
  const files: FileAction[] = [];
  const gate = new RebootGate(ctx, cluster);
  let leases: RunLease[] = [];
  try {
    const host = await ctx.conn.logged(cluster, node);
    const run = await chooseRun(host, ctx.nonce(), o.run);
    restoredRun = run;
    const manifest = await readManifest(host, run, ctx.nonce());
    // Read-only first: whether anything will change (and so reboot), before the lease, the slot and the lock.
    const { todo: pending } = await checkManifest(host, run, manifest, o.force === true, []);
    if (pending.length > 0) leases = await acquireLeases(ctx, cluster, [node], gate); // as apply takes it: a rollback changes files and reboots
    const facts = await readFacts(ctx, cluster, node);
    let stepsDone = 0;
    const restore = () => withNodeLock(host, async () => {
      const { todo, current } = await checkManifest(host, run, manifest, o.force === true, files);
      if (todo.length === 0) return;
      // The refreshes plan would make for these files (src/operations/host/refresh.ts).
      const refreshes = refreshStepsForPaths(todo.map((f) => f.path), facts).flatMap((s: HostStep) => (s.kind === 'refresh' ? [s.command] : []));
      stepsDone = await restoreAsRun(ctx, host, todo, current, { commands: refreshes, timeoutMs: cluster.policy.refreshTimeoutSeconds * 1000 }, say);
    }, { runId: ctx.runId, deadRuns: ctx.deadRuns });
    const reboots = pending.length > 0 && (ctx.rebootOverride ?? cluster.policy.reboot) !== 'never';
    if (reboots) await restoreAndReboot(gate, node, restore, (m) => say('reboot', m));
    else await restore();
    const restoredAny = files.some((f) => f.action !== 'unchanged');
    const rebooted = reboots && restoredAny;
    const message = !restoredAny ? `nothing to restore: the files already match run ${run}'s backups` : `restored ${files.filter((f) => f.action !== 'unchanged').length} file(s) from run ${run}${rebooted ? ' and rebooted' : '; reboot pending (policy "never")'}`;
    say('done', message);
    return { version: 1, runId: ctx.runId, restoredRun, files, result: { ...base, outcome: restoredAny ? 'applied' : 'unchanged', stepsDone, rebooted, message, checks: [] } };
  } catch (err) {
    const error = errorInfo(err, 'rollback');
    say('failed', error.message);
    return { version: 1, runId: ctx.runId, restoredRun, files, result: { ...base, outcome: 'failed', stepsDone: 0, rebooted: false, message: error.message, checks: [], error } };
  } finally {
    await Promise.all(leases.map((l) => l.release()));
    await ctx.conn.closeAll();
  }
}

/**
 * Apply's order for a node that reboots: the slot before anything changes,
 * guests and HA decided before the first restore, HA maintenance around the
 * reboot and ended on every path.
 */
async function restoreAndReboot(gate: RebootGate, node: Node, restore: () => Promise<void>, say: (m: string) => void): Promise<void> {
  await gate.withSlot(node, say, async () => {
    await gate.checkGuests(node);
    await gate.checkHaMaintenance(node);
    await restore();
    let maintenance = false;
    try {
      maintenance = true;
      maintenance = await gate.enterHaMaintenance(node, say);
      await gate.reboot(node, say);
    } finally {
      if (maintenance) await gate.leaveHaMaintenance(node);
    }
  });
}

type Say = (status: 'step' | 'reboot' | 'done' | 'failed', message: string) => void;
type FileAction = RollbackReport['files'][number];

/** The run to undo: the one asked for, or the newest with a manifest on the node. */
async function chooseRun(host: RemoteHost, nonce: string, asked: string | undefined): Promise<string> {
  const list = parseBatch((await host.exec(batch([{ key: 'manifests', cmd: cmd(['printf', '%s\\n', `${STATE_DIR}/backups/*/manifest.json`], { raw: [2] }) }], nonce))).stdout, nonce);
  const runs = (list.get('manifests')?.output ?? '')
    .split('\n')
    .map((l) => /\/backups\/([A-Za-z0-9_.-]+)\/manifest\.json$/.exec(l.trim())?.[1])
    .filter((x): x is string => !!x)
    .sort();
  const run = asked ?? runs.at(-1) ?? null;
  if (!run || !runs.includes(run)) {
    throw new InputError(asked ? `no backups of run ${asked} on ${host.node}` : `no pve-passthrough backups on ${host.node}: nothing to roll back`, [], { node: host.node, fix: runs.length ? `choose one of: ${runs.join(', ')}` : undefined });
  }
  return run;
}

/**
 * Under the node lock, before anything changes: each backup against its
 * manifest hash, each file against the hash the run left. Fills `files` with
 * what will happen to each; a file changed since the run refuses the whole
 * rollback unless `force`. Returns what to restore and the files' hashes now.
 */
async function checkManifest(host: RemoteHost, run: string, manifest: Manifest, force: boolean, files: FileAction[]): Promise<{ todo: ManifestEntry[]; current: Map<string, string | null> }> {
  const node = host.node;
  const todo: ManifestEntry[] = [];
  const current = new Map<string, string | null>();
  const conflicts: string[] = [];
  for (const f of manifest.files) {
    // A manifest is data from the host: its paths are checked before any is used.
    assertRemotePath(f.path);
    if (f.existed && f.backup !== backupPathFor(run, f.path)) {
      throw new SafetyError(ErrorCode.MANIFEST, `the manifest of run ${run} names backup ${JSON.stringify(String(f.backup).slice(0, 120))} for ${f.path}, which is not where that run keeps it`, { node, step: 'rollback', fix: 'inspect /var/lib/pve-passthrough/backups on the node; nothing was changed' });
    }
    if (f.existed) {
      const h = await hashOnHost(host, f.backup!);
      if (h === null) throw new SafetyError(ErrorCode.BACKUP_MISSING, `backup ${f.backup} is missing`, { node, step: 'rollback' });
      if (f.sha256Before && h !== f.sha256Before) {
        throw new SafetyError(ErrorCode.BACKUP_CHECKSUM, `backup ${f.backup} does not match its checksum in the manifest`, { node, step: 'rollback', fix: 'inspect the backup by hand; nothing was changed' });
      }
    }
    const now = await hashOnHost(host, f.path);
    current.set(f.path, now);
    if (now === (f.existed ? f.sha256Before : null)) {
      files.push({ path: f.path, action: 'unchanged' });
      continue;
    }
    if (now !== f.sha256After && !force) conflicts.push(`${f.path} (${now === null ? 'removed' : 'changed'} since run ${run} wrote it)`);
    todo.push(f);
    files.push({ path: f.path, action: f.existed ? 'restored' : 'removed' });
  }
  if (conflicts.length > 0) {
    files.length = 0;
    throw new SafetyError(ErrorCode.CHANGED_SINCE_RUN, `refusing to roll back over later changes: ${conflicts.join(', ')}; nothing was restored`, {
      node, step: 'rollback', fix: 'look at the file(s) first; rollback --force restores anyway (their current content is kept in this rollback\'s own backup)',
    });
  }
  return { todo, current };
}

/**
 * Restores `todo` (last written first) and runs the refreshes, as a run of
 * its own: what it replaces is backed up on the host first and recorded in
 * its own manifest, so it can be undone the same way. On failure the node is
 * put back as it was before this rollback, boot files included. Returns the
 * steps done.
 */
async function restoreAsRun(ctx: EngineContext, host: RemoteHost, todo: readonly ManifestEntry[], current: ReadonlyMap<string, string | null>, refresh: { commands: readonly RefreshCommand[]; timeoutMs: number }, say: Say): Promise<number> {
  const refreshes = refresh.commands;
  const own: Manifest = { version: 1, runId: ctx.runId, node: host.node, createdAt: ctx.now().toISOString(), files: [] };
  const writeOwn = () => { const text = `${JSON.stringify(own, null, 1)}\n`; return runScript(host, atomicWrite(manifestPath(ctx.runId), { mode: '0600', uid: 0, gid: 0, sha256: createHash('sha256').update(text).digest('hex') }), 'write backup manifest', text); };
  let stepsDone = 0;
  try {
    for (const f of [...todo].reverse()) {
      say('step', f.existed ? `restore ${f.path}` : `remove ${f.path}`);
      let backup: string | null = null;
      let before: string | null = null;
      if (current.get(f.path) !== null) {
        backup = backupPathFor(ctx.runId, f.path);
        const r = await host.exec(snapshotFile(f.path, backup));
        before = r.code === 0 ? /^([0-9a-f]{64})\s/.exec(r.stdout)?.[1] ?? null : null;
        if (before === null) throw new SafetyError(ErrorCode.BACKUP, `could not back up ${f.path} before restoring it: ${r.stderr.trim()}`, { node: host.node, step: 'rollback', fix: 'check free space and permissions under /var/lib/pve-passthrough on the node' });
      }
      if (f.existed) await runScript(host, restoreFromBackup(f.path, f.backup!), `restore ${f.path}`);
      else await runScript(host, removeFile(f.path), `remove ${f.path}`);
      own.files.push({ path: f.path, existed: backup !== null, backup, sha256Before: before, sha256After: f.existed ? f.sha256Before : null, mode: f.mode, uid: f.uid, gid: f.gid });
      stepsDone++;
      await writeOwn();
    }
    if (refreshes.length > 0) {
      // One exec, as apply does: a run stopped between update-initramfs and update-grub would leave them apart.
      say('step', refreshLine(refreshes));
      const { finished, error } = await execRefreshes(host, refreshes, refresh.timeoutMs, 'rollback');
      stepsDone += finished;
      if (error) throw error;
    }
  } catch (err) {
    await restoreFromManifest(host, own.files).catch(() => undefined);
    if (refreshes.length > 0) await execRefreshes(host, refreshes, refresh.timeoutMs, 'rollback').catch(() => undefined);
    throw err;
  }
  return stepsDone;
}

async function readOne(host: RemoteHost, path: string, nonce: string): Promise<string | null> {
  const out = parseBatch((await host.exec(batch([{ key: 'file', cmd: cmd(['cat', assertRemotePath(path)]) }], nonce))).stdout, nonce);
  const s = out.get('file');
  return s && s.rc === 0 ? s.output : null;
}

async function readManifest(host: RemoteHost, run: string, nonce: string): Promise<Manifest> {
  const text = await readOne(host, `${STATE_DIR}/backups/${run}/manifest.json`, nonce);
  try {
    const m = JSON.parse(text ?? '') as Manifest;
    if (m.version !== 1 || !Array.isArray(m.files)) throw new Error('bad shape');
    return m;
  } catch {
    throw new SafetyError(ErrorCode.MANIFEST, `the backup manifest of run ${run} is unreadable`, { node: host.node, step: 'rollback', fix: 'inspect /var/lib/pve-passthrough/backups on the node; nothing was changed' });
  }
}
