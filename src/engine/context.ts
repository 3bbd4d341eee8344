/**
 * What every engine entry point needs: the inventory, the run's identity and
 * clock, the connection pool and an event sink. Randomness and time come from
 * here so that the core stays deterministic under test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeSync } from 'node:fs';
import type { Cluster, Inventory, Node, Vm } from '../inventory/schema.js';
import { canonicalJson } from '../canonical-json.js';
import { InputError } from '../errors.js';
import { SecretStore } from '../inventory/secrets.js';
import { checkInventory } from '../inventory/load.js';
import { Connections } from './connections.js';
import type { EngineEvent, Selection } from './types.js';
import type { LeaseOptions } from './lease.js';
import { readGuests, type GuestResource } from '../facts/cluster/guests.js';

/** Selection plus PVE tags (CLI --tag): VMs whose /cluster/resources tags include any of them, and the nodes hosting those VMs. */
export interface EngineSelection extends Selection {
  readonly tags?: readonly string[];
}

/** What the tags matched in one cluster (resolveSelection fills it from /cluster/resources). */
export interface TagMatch {
  /** Tagged VM id -> the node it runs on. */
  readonly vms: ReadonlyMap<number, string>;
}

export interface EngineOptions {
  readonly concurrency?: number;
  readonly acceptNewHostKeys?: boolean;
  /** OpenSSH client config file (-F); false = read none. */
  readonly sshConfig?: string | false;
  readonly selection?: EngineSelection;
  readonly onEvent?: (e: EngineEvent) => void;
  readonly secrets?: SecretStore;
  /** Override the reboot policy of every cluster (CLI --reboot). */
  readonly reboot?: 'never' | 'needed' | 'always';
  readonly now?: () => Date;
  readonly runId?: string;
  /** For tests and benchmarks: how long to wait between reboot polls. */
  readonly pollMs?: number;
  /** Abort between steps (Ctrl-C). */
  readonly signal?: AbortSignal;
  /** The run lease: how long to wait for another run, whether to break its lease, how often to renew. */
  readonly lease?: LeaseOptions;
}

export interface EngineContext {
  readonly inventory: Inventory;
  readonly runId: string;
  readonly now: () => Date;
  readonly concurrency: number;
  readonly emit: (e: EngineEvent) => void;
  readonly secrets: SecretStore;
  readonly conn: Connections;
  readonly selection: EngineSelection;
  /** Per cluster, what --tag matched; filled by resolveSelection before anything is selected. */
  readonly tagged: Map<string, TagMatch>;
  readonly rebootOverride?: 'never' | 'needed' | 'always';
  readonly pollMs: number;
  readonly signal?: AbortSignal;
  readonly lease: LeaseOptions;
  /** Runs whose lease this run took over (expired or broken): what they left behind may be cleared. */
  readonly deadRuns: Set<string>;
  nonce(): string;
}

/** A run id that sorts by time: 20261201T014500Z-1a2b3c */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

/**
 * Test hook for the crash-point suite (test/safety/crash-points.test.ts): with
 * PVE_PASSTHROUGH_STOP_AT_STEPS=1 the process announces every step boundary
 * of the apply phase (a node or VM event) on stderr as `@@step-boundary N …` and stops itself
 * (SIGSTOP) until the test sends SIGCONT, or SIGKILL. Off unless set.
 */
function stepBoundaries(emit: (e: EngineEvent) => void): (e: EngineEvent) => void {
  if (process.env.PVE_PASSTHROUGH_STOP_AT_STEPS !== '1') return emit;
  let n = 0;
  let applying = false;
  return (e) => {
    emit(e);
    // Planning only reads: the boundaries that matter start with the apply phase.
    if (e.type === 'phase') applying ||= e.phase === 'apply';
    if (!applying || (e.type !== 'node' && e.type !== 'vm')) return;
    const where = e.type === 'node' ? e.node : `VM ${e.vmid}`;
    writeSync(2, `\n@@step-boundary ${++n} ${where} ${e.status}: ${e.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 120)}\n`);
    process.kill(process.pid, 'SIGSTOP');
  };
}

/** Checks the inventory first (a library caller's object gets the CLI's validation), so nothing is contacted on bad input. */
export function createContext(given: Inventory, o: EngineOptions = {}): EngineContext {
  const inventory = checkInventory(given);
  const now = o.now ?? (() => new Date());
  const emit = stepBoundaries(o.onEvent ?? (() => {}));
  const secrets = o.secrets ?? new SecretStore();
  return {
    inventory,
    runId: o.runId ?? newRunId(now()),
    now,
    concurrency: o.concurrency ?? 16,
    emit,
    secrets,
    conn: new Connections({ secrets, acceptNewHostKeys: o.acceptNewHostKeys ?? false, emit, ...(o.sshConfig !== undefined ? { sshConfig: o.sshConfig } : {}) }),
    selection: o.selection ?? {},
    tagged: new Map(),
    rebootOverride: o.reboot,
    pollMs: o.pollMs ?? 1000,
    signal: o.signal,
    lease: o.lease ?? {},
    deadRuns: new Set(),
    nonce: () => randomBytes(8).toString('hex'),
  };
}

/** Runs `fn` with a fresh context and closes every connection it opened, however `fn` ends. */
export async function withContext<T>(inventory: Inventory, options: EngineOptions, fn: (ctx: EngineContext) => Promise<T>): Promise<T> {
  const ctx = createContext(inventory, options);
  try {
    await ctx.conn.preflight(selectedClusters(ctx));
    return await fn(ctx);
  } finally {
    await ctx.conn.closeAll();
  }
}

export function selectedClusters(ctx: EngineContext): Cluster[] {
  const s = ctx.selection;
  return ctx.inventory.clusters.filter((c) => !s.clusters?.length || s.clusters.includes(c.name));
}

export function selectedNodes(ctx: EngineContext, c: Cluster): Node[] {
  const s = ctx.selection;
  const tagged = tagMatch(ctx, c);
  if (tagged) {
    const hosting = new Set([...tagged.vms].filter(([id]) => !s.vms?.length || s.vms.includes(id)).map(([, node]) => node));
    return c.nodes.filter((n) => hosting.has(n.name) && (!s.nodes?.length || s.nodes.includes(n.name)));
  }
  if (s.vms?.length && !s.nodes?.length) return [];
  return c.nodes.filter((n) => !s.nodes?.length || s.nodes.includes(n.name));
}

export function selectedVms(ctx: EngineContext, c: Cluster): Vm[] {
  const s = ctx.selection;
  const tagged = tagMatch(ctx, c);
  if (tagged) {
    return c.vms.filter((v) => tagged.vms.has(v.vmid) && (!s.vms?.length || s.vms.includes(v.vmid)) && (!s.nodes?.length || s.nodes.includes(v.node)));
  }
  if (s.nodes?.length && !s.vms?.length) return c.vms.filter((v) => s.nodes!.includes(v.node));
  return c.vms.filter((v) => !s.vms?.length || s.vms.includes(v.vmid));
}

/** Null when no tags were asked for; throws when they were but resolveSelection has not run (fail closed). */
function tagMatch(ctx: EngineContext, c: Cluster): TagMatch | null {
  if (!ctx.selection.tags?.length) return null;
  const m = ctx.tagged.get(c.name);
  if (!m) throw new Error(`tag selection for cluster ${c.name} was not resolved (call resolveSelection first)`);
  return m;
}

/** PVE stores tags separated by `;` (older configs also use `,` or spaces); PVE compares them case-insensitively. */
export function parseTags(raw: unknown): string[] {
  return typeof raw === 'string' ? raw.split(/[;, ]+/).map((t) => t.trim().toLowerCase()).filter(Boolean) : [];
}

/** Guests whose tags include any wanted tag. Pure, for tests. */
export function matchTags(resources: readonly Pick<GuestResource, 'type' | 'vmid' | 'node' | 'tags'>[], wanted: readonly string[]): TagMatch {
  const want = new Set(wanted.map((t) => t.toLowerCase()));
  const vms = new Map<number, string>();
  for (const r of resources) {
    if (r.type !== 'qemu') continue;
    if (parseTags(r.tags).some((t) => want.has(t))) vms.set(r.vmid, r.node);
  }
  return { vms };
}

/**
 * Resolve --tag once per run: read /cluster/resources of every selected
 * cluster. A cluster without an API section cannot be asked, so it is an
 * input error rather than a silent empty selection.
 */
export async function resolveSelection(ctx: EngineContext): Promise<void> {
  checkNames(ctx);
  const tags = ctx.selection.tags;
  if (!tags?.length) return;
  const seen = new Set<string>();
  await Promise.all(selectedClusters(ctx).map(async (c) => {
    if (ctx.tagged.has(c.name)) return;
    const api = await ctx.conn.api(c);
    if (!api) throw new InputError(`--tag needs the PVE API, and cluster ${c.name} has no api section`, [], { fix: 'add the api section to that cluster, or select with --node / --vm' });
    const resources = await readGuests(api);
    for (const r of resources) if (r.type === 'qemu') for (const t of parseTags(r.tags)) seen.add(t);
    ctx.tagged.set(c.name, matchTags(resources, tags));
  }));
  if (selectedClusters(ctx).every((c) => selectedNodes(ctx, c).length === 0 && selectedVms(ctx, c).length === 0)) {
    throw new InputError(`--tag ${tags.join(',')} matches no VM or node of the inventory`, [], {
      fix: seen.size ? `tags in use: ${[...seen].sort().join(', ')}` : 'no VM of the selected clusters carries a tag',
    });
  }
}

/**
 * A selection that matches nothing is a mistake, never an empty success
 * (`verify --node typo` must not say "compliant"). Each name given must exist
 * in the selected clusters, and together they must leave something to act on.
 */
function checkNames(ctx: EngineContext): void {
  const s = ctx.selection;
  const list = (xs: readonly (string | number)[]) => xs.join(', ') || '(none)';
  const all = ctx.inventory.clusters;
  const badClusters = (s.clusters ?? []).filter((c) => !all.some((x) => x.name === c));
  if (badClusters.length) throw new InputError(`--cluster ${badClusters.join(',')}: no such cluster in the inventory`, [], { fix: `clusters: ${list(all.map((c) => c.name))}` });
  const clusters = selectedClusters(ctx);
  const nodes = clusters.flatMap((c) => c.nodes.map((n) => n.name));
  const badNodes = (s.nodes ?? []).filter((n) => !nodes.includes(n));
  if (badNodes.length) throw new InputError(`--node ${badNodes.join(',')}: no such node in ${clusters.length === all.length ? 'the inventory' : `cluster ${list(clusters.map((c) => c.name))}`}`, [], { fix: `nodes: ${list(nodes)}` });
  const vms = clusters.flatMap((c) => c.vms.map((v) => v.vmid));
  const badVms = (s.vms ?? []).filter((v) => !vms.includes(v));
  if (badVms.length) throw new InputError(`--vm ${badVms.join(',')}: no such VM in the inventory${clusters.length === all.length ? '' : `'s cluster ${list(clusters.map((c) => c.name))}`}`, [], { fix: `VMs: ${list(vms)}` });
  if (!s.tags?.length && clusters.every((c) => selectedNodes(ctx, c).length === 0 && selectedVms(ctx, c).length === 0 && c.mappings.length === 0)) {
    throw new InputError('the selection matches nothing to act on', [], { fix: `nodes: ${list(nodes)}; VMs: ${list(vms)}` });
  }
}

export function inventoryDigest(inv: Inventory): string {
  return createHash('sha256').update(canonicalJson(inv)).digest('hex');
}

export function effectiveRebootPolicy(ctx: EngineContext, c: Cluster): 'never' | 'needed' | 'always' {
  return ctx.rebootOverride ?? c.policy.reboot;
}
