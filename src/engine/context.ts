/**
 * What every engine entry point needs: the inventory, the run's identity and
 * clock, the connection pool and an event sink. Randomness and time come from
 * here so that the core stays deterministic under test.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Inventory, Node, Vm } from '../inventory/schema.js';
import { SecretStore } from '../inventory/secrets.js';
import { Connections } from './connections.js';
import type { EngineEvent, Selection } from './types.js';

export interface EngineOptions {
  readonly concurrency?: number;
  readonly acceptNewHostKeys?: boolean;
  readonly selection?: Selection;
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
}

export interface EngineContext {
  readonly inventory: Inventory;
  readonly runId: string;
  readonly now: () => Date;
  readonly concurrency: number;
  readonly emit: (e: EngineEvent) => void;
  readonly secrets: SecretStore;
  readonly conn: Connections;
  readonly selection: Selection;
  readonly rebootOverride?: 'never' | 'needed' | 'always';
  readonly pollMs: number;
  readonly signal?: AbortSignal;
  nonce(): string;
}

/** A run id that sorts by time: 20261201T014500Z-1a2b3c */
export function newRunId(now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
}

export function createContext(inventory: Inventory, o: EngineOptions = {}): EngineContext {
  const now = o.now ?? (() => new Date());
  const emit = o.onEvent ?? (() => {});
  const secrets = o.secrets ?? new SecretStore();
  return {
    inventory,
    runId: o.runId ?? newRunId(now()),
    now,
    concurrency: o.concurrency ?? 16,
    emit,
    secrets,
    conn: new Connections({ secrets, acceptNewHostKeys: o.acceptNewHostKeys ?? false, emit }),
    selection: o.selection ?? {},
    rebootOverride: o.reboot,
    pollMs: o.pollMs ?? 1000,
    signal: o.signal,
    nonce: () => randomBytes(8).toString('hex'),
  };
}

export function selectedClusters(ctx: EngineContext): Cluster[] {
  const s = ctx.selection;
  return ctx.inventory.clusters.filter((c) => !s.clusters?.length || s.clusters.includes(c.name));
}

export function selectedNodes(ctx: EngineContext, c: Cluster): Node[] {
  const s = ctx.selection;
  if (s.vms?.length && !s.nodes?.length) return [];
  return c.nodes.filter((n) => !s.nodes?.length || s.nodes.includes(n.name));
}

export function selectedVms(ctx: EngineContext, c: Cluster): Vm[] {
  const s = ctx.selection;
  if (s.nodes?.length && !s.vms?.length) return c.vms.filter((v) => s.nodes!.includes(v.node));
  return c.vms.filter((v) => !s.vms?.length || s.vms.includes(v.vmid));
}

export function inventoryDigest(inv: Inventory): string {
  return createHash('sha256').update(canonicalJson(inv)).digest('hex');
}

/** JSON with sorted keys: equal values give equal text. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(v, (_k, val: unknown) =>
    val && typeof val === 'object' && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : val,
  );
}

export function effectiveRebootPolicy(ctx: EngineContext, c: Cluster): 'never' | 'needed' | 'always' {
  return ctx.rebootOverride ?? c.policy.reboot;
}
