/**
 * The run lease: one apply at a time per PVE cluster (per node when the node
 * is not in a cluster), held from before the first write until every node is
 * back, quorate and verified.
 *
 * The lease is a small record file (run id, user@host, start, last renewal,
 * time to live) changed only while holding a guard directory, the way PVE's
 * `cfs_lock_*` helpers guard the files they change (pve-cluster
 * src/PVE/Cluster.pm `$cfs_lock`): `mkdir` the guard (atomic, cluster-wide on
 * pmxcfs), read and write the record, `rmdir` the guard, all within seconds.
 * Why not hold a pmxcfs lock directory for the whole run: pmxcfs expires a
 * lock 120 s after it was taken (CFS_LOCK_TIMEOUT, src/pmxcfs/memdb.c) and
 * only the node that took it may refresh it (memdb_mtime checks the writer),
 * while a run lasts longer than that and reboots the nodes it goes through.
 * The record is renewed through any node that answers, and judged by the
 * host's clock (`date +%s`), so two laptops with different clocks agree.
 * A run that dies leaves the record; it expires after its ttl and the next
 * run takes it over and says so.
 */
import { createHash } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import type { Cluster, Node } from '../inventory/schema.js';
import { PassthroughError, RemoteCommandError, RunError, SshError } from '../errors.js';
import { cmd, parseBatch, readLease, releaseGuard, removeLease, render, takeGuard, unlockRequest, writeLease, type Script } from '../transport/shell.js';
import type { RemoteHost } from '../transport/types.js';
import type { EngineContext } from './context.js';
import { ErrorCode } from '../error-codes.js';

/** On pmxcfs (clustered or standalone PVE): the guard is a real cluster lock directory. */
export const CLUSTER_LEASE = { guard: '/etc/pve/priv/lock/pve-passthrough', record: '/etc/pve/priv/pve-passthrough/lease' } as const;
/** A node without a cluster file system (plain Debian): node-local; /run is emptied by a reboot. */
export const NODE_LEASE = { guard: '/run/pve-passthrough.lease-guard', record: '/var/lib/pve-passthrough/lease' } as const;

export interface LeaseRecord {
  readonly run: string;
  readonly holder: string;
  /** Host clock, epoch seconds. */
  readonly started: number;
  readonly renewed: number;
  readonly ttl: number;
}

const HEADER = 'pve-passthrough-lease 1';
const RUN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HOLDER = /^[A-Za-z0-9_.@-]{1,128}$/;

export function renderLease(r: LeaseRecord): string {
  return `${HEADER}\nrun=${r.run}\nholder=${r.holder}\nstarted=${r.started}\nrenewed=${r.renewed}\nttl=${r.ttl}\n`;
}

/** Pure. null: no record (or one this tool cannot read, which is treated as held, see leaseState). */
export function parseLease(text: string): LeaseRecord | 'unreadable' | null {
  if (text.trim() === '') return null;
  const lines = text.split('\n');
  if (lines[0] !== HEADER) return 'unreadable';
  const kv = new Map<string, string>();
  for (const l of lines.slice(1)) {
    const m = /^([a-z]+)=(.*)$/.exec(l);
    if (m) kv.set(m[1]!, m[2]!);
  }
  const num = (k: string): number | null => (/^\d{1,12}$/.test(kv.get(k) ?? '') ? Number(kv.get(k)) : null);
  const run = kv.get('run') ?? '';
  const holder = kv.get('holder') ?? '';
  const started = num('started');
  const renewed = num('renewed');
  const ttl = num('ttl');
  if (!RUN.test(run) || !HOLDER.test(holder) || started === null || renewed === null || ttl === null) return 'unreadable';
  return { run, holder, started, renewed, ttl };
}

export type LeaseState = 'free' | 'ours' | 'held' | 'expired';

/** Pure: what the record means for run `runId` at host time `now` (s). A record nobody can read is held, never silently taken. */
export function leaseState(rec: LeaseRecord | 'unreadable' | null, runId: string, now: number): LeaseState {
  if (rec === null) return 'free';
  if (rec === 'unreadable') return 'held';
  if (rec.run === runId) return 'ours';
  return now > rec.renewed + rec.ttl ? 'expired' : 'held';
}

export function describeHolder(rec: LeaseRecord | 'unreadable' | null, now: number): string {
  if (rec === null) return 'nobody';
  if (rec === 'unreadable') return 'an unreadable lease record';
  const ago = (t: number) => `${Math.max(0, now - t)} s ago`;
  return `run ${rec.run} by ${rec.holder} (started ${ago(rec.started)}, last renewed ${ago(rec.renewed)}, expires after ${rec.ttl} s without renewal)`;
}

/** `user@host` of this process, reduced to characters the record allows. */
export function localHolder(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return `${user}@${hostname()}`.replace(/[^A-Za-z0-9_.@-]/g, '_').slice(0, 128);
}

export interface LeaseOptions {
  /** How long to wait for another run's lease (0: refuse at once, naming the holder). */
  readonly waitSeconds?: number;
  /** Take over a live lease of another run; called with its holder, returns the operator's consent. */
  readonly breakLease?: (holder: string) => Promise<boolean>;
  /** How often the lease is renewed while held (default 30 s). */
  readonly renewMs?: number;
}

export class LeaseError extends RunError {}

interface Paths {
  readonly guard: string;
  readonly record: string;
}

/**
 * One lease: over a whole PVE cluster (reached through any of its nodes) or
 * over one node. `acquire` before the first write; `release` when done.
 */
export class RunLease {
  private timer: NodeJS.Timeout | null = null;
  private held = false;
  /** Set when a renewal found the record gone or taken: the run must stop before its next reboot. */
  lost: string | null = null;
  /** True when another run held the lease and this one waited: its plan may be stale. */
  waited = false;
  /** Called once when a renewal finds the lease lost (the apply stops its rollout). */
  onLost: (why: string) => void = () => {};

  constructor(
    private readonly ctx: EngineContext,
    private readonly cluster: Cluster,
    /** Nodes to go through, in order of preference; `avoid` names the ones rebooting now. */
    private readonly via: readonly Node[],
    private readonly paths: Paths,
    private readonly ttl: number,
    private readonly o: LeaseOptions,
    private readonly avoid: () => ReadonlySet<string> = () => new Set(),
  ) {}

  get scope(): string {
    return this.paths === CLUSTER_LEASE || this.paths.record === CLUSTER_LEASE.record ? `cluster ${this.cluster.name}` : `node ${this.via[0]?.name}`;
  }

  async acquire(): Promise<void> {
    const deadline = Date.now() + (this.o.waitSeconds ?? 0) * 1000;
    let said = '';
    /** The run whose live lease the operator agreed to break (asked outside the guard: a prompt may take long). */
    let breakRun: string | null = null;
    for (;;) {
      const outcome = await this.guarded(async (host, rec, now) => {
        const state = leaseState(rec, this.ctx.runId, now);
        if (state === 'held' && breakRun !== null && rec !== null && rec !== 'unreadable' && rec.run === breakRun) {
          this.ctx.emit({ type: 'warning', subject: this.scope, message: `broke the lease of ${describeHolder(rec, now)} (--break-lease)` });
          this.ctx.deadRuns.add(rec.run);
        } else if (state === 'held') {
          return { who: describeHolder(rec, now), run: rec !== null && rec !== 'unreadable' ? rec.run : null };
        } else if (state === 'expired') {
          this.ctx.emit({ type: 'warning', subject: this.scope, message: `took over an expired lease: ${describeHolder(rec, now)}; that run did not finish` });
          if (rec !== null && rec !== 'unreadable') this.ctx.deadRuns.add(rec.run);
        }
        await this.write(host, { run: this.ctx.runId, holder: localHolder(), started: now, renewed: now, ttl: this.ttl });
        return null;
      });
      if (outcome === null) break;
      if (this.o.breakLease && outcome.run !== null && outcome.run !== breakRun) {
        if (!(await this.o.breakLease(outcome.who))) {
          throw new LeaseError(ErrorCode.LEASE_HELD, `${this.scope} is leased by ${outcome.who}; not broken`, { cluster: this.cluster.name, step: 'lease', fix: 'wait for that run to finish' });
        }
        breakRun = outcome.run;
        continue;
      }
      if (Date.now() >= deadline) {
        throw new LeaseError(ErrorCode.LEASE_HELD, `another pve-passthrough run holds ${this.scope}: ${outcome.who}`, {
          cluster: this.cluster.name,
          step: 'lease',
          fix: outcome.run === null
            ? `the lease record ${this.paths.record} is not one this tool wrote; look at it, and remove it if no run is active`
            : 'wait for it to finish (or pass --wait-lease SECONDS); if it is dead, its lease expires by itself, or take it over with --break-lease',
        });
      }
      this.waited = true;
      if (outcome.who !== said) this.ctx.emit({ type: 'phase', phase: 'apply', message: `waiting for the lease on ${this.scope}: held by ${outcome.who}` });
      said = outcome.who;
      await sleep(Math.min(this.ctx.pollMs * 5, 5000), this.ctx.signal);
      if (this.ctx.signal?.aborted) throw new LeaseError(ErrorCode.INTERRUPTED, `interrupted while waiting for the lease on ${this.scope}`, { cluster: this.cluster.name, step: 'lease' });
    }
    this.held = true;
    const every = this.o.renewMs ?? 30_000;
    this.timer = setInterval(() => void this.renew().catch(() => undefined), every);
    this.timer.unref();
  }

  /** Renew through any node that answers; a record that is no longer ours marks the lease lost. */
  async renew(): Promise<void> {
    if (!this.held || this.lost) return;
    await this.guarded(async (host, rec, now) => {
      if (leaseState(rec, this.ctx.runId, now) !== 'ours') {
        this.lost = `the lease on ${this.scope} was taken by ${describeHolder(rec, now)}`;
        this.ctx.emit({ type: 'warning', subject: this.scope, message: `${this.lost}: no further reboot in this run` });
        this.onLost(this.lost);
        return null;
      }
      await this.write(host, { ...(rec as LeaseRecord), renewed: now });
      return null;
    });
  }

  /** Remove the record if it is still ours. Never throws: an unreleased lease expires by itself. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (!this.held) return;
    this.held = false;
    await this.guarded(async (host, rec, now) => {
      if (leaseState(rec, this.ctx.runId, now) === 'ours') await run(host, removeLease(this.paths.record), 'release the lease');
      return null;
    }).catch((err: unknown) => {
      this.ctx.emit({ type: 'warning', subject: this.scope, message: `could not release the lease (${err instanceof Error ? err.message : String(err)}); it expires by itself after ${this.ttl} s` });
    });
  }

  private async write(host: RemoteHost, rec: LeaseRecord): Promise<void> {
    const text = renderLease(rec);
    await run(host, writeLease(this.paths.record, createHash('sha256').update(text).digest('hex')), 'write the lease', text);
  }

  /** Take the guard through the first node that answers, run `fn` on the record, drop the guard. */
  private async guarded<T>(fn: (host: RemoteHost, rec: LeaseRecord | 'unreadable' | null, now: number) => Promise<T>): Promise<T> {
    const avoid = this.avoid();
    const order = [...this.via.filter((n) => !avoid.has(n.name)), ...this.via.filter((n) => avoid.has(n.name))];
    let lastErr: unknown = null;
    for (const node of order) {
      let host: RemoteHost;
      try {
        host = await this.ctx.conn.logged(this.cluster, node);
        await this.takeGuard(host);
      } catch (err) {
        // A node that does not answer (rebooting, say): the lease is the same through any other.
        if (!unreachable(err)) throw err;
        lastErr = err;
        continue;
      }
      try {
        const nonce = this.ctx.nonce();
        const r = parseBatch((await run(host, readLease(this.paths.record, nonce), 'read the lease')), nonce);
        const now = Number((r.get('now')?.output ?? '').trim());
        if (!Number.isSafeInteger(now) || now <= 0) throw new LeaseError(ErrorCode.LEASE, `${node.name}: \`date +%s\` gave no usable time`, { node: node.name, step: 'lease' });
        return await fn(host, parseLease(r.get('lease')?.output ?? ''), now);
      } catch (err) {
        if (!unreachable(err)) throw err;
        lastErr = err;
      } finally {
        const dropped = await host.exec(releaseGuard(this.paths.guard)).then((r) => r.code !== null, () => false);
        // The node went away while we held the guard: on pmxcfs any other node can remove it.
        if (!dropped) await this.releaseGuardElsewhere(node);
      }
    }
    throw lastErr ?? new LeaseError(ErrorCode.LEASE, `no node of ${this.cluster.name} answered to take the lease`, { cluster: this.cluster.name, step: 'lease' });
  }

  private async releaseGuardElsewhere(gone: Node): Promise<void> {
    for (const n of this.via) {
      if (n === gone) continue;
      const ok = await this.ctx.conn.logged(this.cluster, n).then((h) => h.exec(releaseGuard(this.paths.guard))).then((r) => r.code !== null, () => false);
      if (ok) return;
    }
  }

  /** cfs_lock style: try mkdir for up to ~10 s, sending an unlock request after each miss (clears a guard a crashed run left, once it is 120 s old). */
  private async takeGuard(host: RemoteHost): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const r = await host.exec(takeGuard(this.paths.guard));
      if (r.code === 0) return;
      if (r.code === null) throw new LeaseError(ErrorCode.LEASE_UNREACHABLE, `${host.node}: the connection dropped while taking the lease guard`, { node: host.node, step: 'lease' });
      if (attempt >= 20) {
        throw new LeaseError(ErrorCode.LEASE, `${host.node}: the lease guard ${this.paths.guard} stays taken (${r.stderr.trim() || `exit ${r.code}`})`, {
          node: host.node,
          step: 'lease',
          fix: this.paths.guard.startsWith('/etc/pve/') ? 'pmxcfs frees a guard left by a dead run 120 s after it was taken; check that the cluster is quorate (/etc/pve is read-only without quorum)' : `if no run is active, remove ${this.paths.guard} on the node`,
        });
      }
      await host.exec(unlockRequest(this.paths.guard)).catch(() => undefined);
      await sleep(Math.min(this.ctx.pollMs * 5, 500), this.ctx.signal);
    }
  }
}

async function run(host: RemoteHost, script: Script, what: string, stdin?: string): Promise<string> {
  const r = await host.exec(script, { stdin });
  if (r.code !== 0) throw new LeaseError(r.code === null ? ErrorCode.LEASE_UNREACHABLE : ErrorCode.LEASE, `${host.node}: ${what} failed (${(r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || `exit ${r.code ?? 'none: connection lost'}`})`, { node: host.node, step: 'lease' });
  return r.stdout;
}

/** Connection trouble (try the next node) rather than an answer about the lease. */
function unreachable(err: unknown): boolean {
  return err instanceof LeaseError ? err.code === ErrorCode.LEASE_UNREACHABLE : !(err instanceof PassthroughError) || err instanceof SshError || err instanceof RemoteCommandError;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/**
 * The leases an apply of this cluster needs: one over the whole PVE cluster
 * when it is one (the API lists a cluster, or corosync.conf exists), else one
 * per node that has work. `test -d /etc/pve/priv` picks where a lone node
 * keeps it (pmxcfs on PVE; /var/lib on plain Debian).
 */
export async function leasesFor(
  ctx: EngineContext,
  cluster: Cluster,
  nodesWithWork: readonly Node[],
  o: LeaseOptions,
  avoid: () => ReadonlySet<string>,
): Promise<RunLease[]> {
  const ttl = cluster.policy.rebootTimeoutSeconds + 300;
  const first = nodesWithWork[0] ?? cluster.nodes[0];
  if (!first) return [];
  if (await isClustered(ctx, cluster, first)) {
    // Nodes with work last: they are the ones that reboot.
    const via = [...cluster.nodes.filter((n) => !nodesWithWork.includes(n)), ...nodesWithWork];
    return [new RunLease(ctx, cluster, via, CLUSTER_LEASE, ttl, o, avoid)];
  }
  const out: RunLease[] = [];
  for (const n of nodesWithWork) {
    const host = await ctx.conn.logged(cluster, n);
    const pmxcfs = (await host.exec(testDir('/etc/pve/priv'))).code === 0;
    out.push(new RunLease(ctx, cluster, [n], pmxcfs ? CLUSTER_LEASE : NODE_LEASE, ttl, o));
  }
  return out;
}

/** What a run's leases need from its reboot gate: which nodes to avoid, and how to stop the rollout. */
export interface LeaseHolder {
  holding(): ReadonlySet<string>;
  stop(why: string): void;
}

/**
 * Takes every lease a run of `cluster` needs (leasesFor), in order; a lease
 * lost later stops the run's reboots through `gate`. If any cannot be taken,
 * the ones already taken are released and the error is thrown.
 */
export async function acquireLeases(ctx: EngineContext, cluster: Cluster, nodesWithWork: readonly Node[], gate: LeaseHolder): Promise<RunLease[]> {
  const leases: RunLease[] = [];
  try {
    leases.push(...(await leasesFor(ctx, cluster, nodesWithWork, ctx.lease, () => gate.holding())));
    for (const l of leases) {
      l.onLost = (why) => gate.stop(why);
      await l.acquire();
    }
  } catch (err) {
    await Promise.all(leases.map((l) => l.release()));
    throw err;
  }
  return leases;
}

async function isClustered(ctx: EngineContext, cluster: Cluster, node: Node): Promise<boolean> {
  const api = await ctx.conn.api(cluster);
  if (api) {
    const status = await api.clusterStatus();
    return status.some((s) => s.type === 'cluster');
  }
  const host = await ctx.conn.logged(cluster, node);
  return (await host.exec(testFile('/etc/pve/corosync.conf'))).code === 0;
}

const testDir = (p: string): Script => render(cmd(['test', '-d', p])) as Script;
const testFile = (p: string): Script => render(cmd(['test', '-e', p])) as Script;
