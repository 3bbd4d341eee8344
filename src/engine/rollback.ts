/**
 * rollback: restore a node's files from one run's backups (the manifest and
 * its checksums), refresh the initramfs and boot loader, and reboot under the
 * same policy as apply. The rollback is itself a run with its own backups, so
 * it can be undone the same way.
 */
import { createHash } from 'node:crypto';
import type { Inventory } from '../inventory/schema.js';
import { InputError, SafetyError } from '../errors.js';
import type { HostStep } from '../operations/types.js';
import type { RemoteHost } from '../transport/types.js';
import { assertRemotePath, batch, cmd, parseBatch, STATE_DIR } from '../transport/shell.js';
import { createContext, type EngineOptions } from './context.js';
import { errorInfo } from './errors.js';
import { applyHostSteps, withNodeLock, type Manifest } from './host-apply.js';
import { readFacts } from './plan.js';
import { RebootGate } from './reboot-gate.js';
import type { ApplyNodeResult } from './types.js';

export interface RollbackOptions extends EngineOptions {
  readonly cluster?: string;
  readonly node: string;
  /** Run id to undo; default: the newest run with a manifest on the node. */
  readonly run?: string;
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
  const say = (status: 'step' | 'reboot' | 'done' | 'failed', message: string) => ctx.emit({ type: 'node', ...base, status, message });
  let restoredRun: string | null = null;
  const files: RollbackReport['files'][number][] = [];
  try {
    const host = await ctx.conn.logged(cluster, node);
    const nonce = ctx.nonce();
    const list = parseBatch((await host.exec(batch([{ key: 'manifests', cmd: cmd(['printf', '%s\\n', `${STATE_DIR}/backups/*/manifest.json`], { raw: [2] }) }], nonce))).stdout, nonce);
    const runs = (list.get('manifests')?.output ?? '')
      .split('\n')
      .map((l) => /\/backups\/([A-Za-z0-9_.-]+)\/manifest\.json$/.exec(l.trim())?.[1])
      .filter((x): x is string => !!x)
      .sort();
    restoredRun = o.run ?? runs.at(-1) ?? null;
    if (!restoredRun || !runs.includes(restoredRun)) {
      throw new InputError(o.run ? `no backups of run ${o.run} on ${node.name}` : `no pve-passthrough backups on ${node.name}: nothing to roll back`, [], { node: node.name, fix: runs.length ? `choose one of: ${runs.join(', ')}` : undefined });
    }
    const manifest = await readManifest(host, restoredRun, ctx.nonce());
    const facts = await readFacts(ctx, cluster, node);
    const steps: HostStep[] = [];
    for (const f of manifest.files) {
      const current = facts.files[f.path]?.content ?? (await readOne(host, f.path, ctx.nonce()));
      if (f.existed && f.backup) {
        const content = await readOne(host, assertRemotePath(f.backup), ctx.nonce());
        if (content === null) throw new SafetyError('E_BACKUP_MISSING', `backup ${f.backup} is missing`, { node: node.name, step: 'rollback' });
        if (f.sha256Before && createHash('sha256').update(content).digest('hex') !== f.sha256Before) {
          throw new SafetyError('E_BACKUP_CHECKSUM', `backup ${f.backup} does not match its checksum in the manifest`, { node: node.name, step: 'rollback', fix: 'inspect the backup by hand; nothing was changed' });
        }
        if (current === content) files.push({ path: f.path, action: 'unchanged' });
        else {
          steps.push({ kind: 'write-file', path: f.path, before: current, after: content, mode: f.mode, uid: f.uid, gid: f.gid, reason: `restore from run ${restoredRun}` });
          files.push({ path: f.path, action: 'restored' });
        }
      } else if (current !== null) {
        steps.push({ kind: 'remove-file', path: f.path, before: current, reason: `did not exist before run ${restoredRun}` });
        files.push({ path: f.path, action: 'removed' });
      } else files.push({ path: f.path, action: 'unchanged' });
    }
    if (steps.length > 0) {
      steps.push({ kind: 'refresh', command: 'update-initramfs', reason: 'match the restored module configuration' });
      steps.push({ kind: 'refresh', command: facts.bootLoader.proxmoxBootTool ? 'proxmox-boot-tool-refresh' : 'update-grub', reason: 'match the restored kernel command line' });
    }
    let stepsDone = 0;
    if (steps.length > 0) {
      await withNodeLock(host, async () => {
        stepsDone = (await applyHostSteps(host, steps, { runId: ctx.runId, now: ctx.now, signal: ctx.signal, onStep: (m) => say('step', m) })).stepsDone;
      });
    }
    let rebooted = false;
    const policy = ctx.rebootOverride ?? cluster.policy.reboot;
    if (steps.length > 0 && policy !== 'never') {
      const gate = new RebootGate(ctx, cluster);
      await gate.withSlot(node, (m) => say('reboot', m), () => gate.reboot(node, (m) => say('reboot', m)));
      rebooted = true;
    }
    const message = steps.length === 0 ? `nothing to restore: the files already match run ${restoredRun}'s backups` : `restored ${files.filter((f) => f.action !== 'unchanged').length} file(s) from run ${restoredRun}${rebooted ? ' and rebooted' : '; reboot pending (policy "never")'}`;
    say('done', message);
    return { version: 1, runId: ctx.runId, restoredRun, files, result: { ...base, outcome: steps.length ? 'applied' : 'unchanged', stepsDone, rebooted, message, checks: [] } };
  } catch (err) {
    const error = errorInfo(err, 'rollback');
    say('failed', error.message);
    return { version: 1, runId: ctx.runId, restoredRun, files, result: { ...base, outcome: 'failed', stepsDone: 0, rebooted: false, message: error.message, checks: [], error } };
  } finally {
    await ctx.conn.closeAll();
  }
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
    throw new SafetyError('E_MANIFEST', `the backup manifest of run ${run} is unreadable`, { node: host.node, step: 'rollback', fix: 'inspect /var/lib/pve-passthrough/backups on the node; nothing was changed' });
  }
}
