/**
 * Shared set-up for the failure suite: a small simulated fleet, engine options
 * tuned for speed, and the two checks every fault test ends with — no line of
 * any file was lost, and re-running converges.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { apply, loadInventory, plan, verify, type ApplyReport, type EngineEvent, type Inventory, type Plan } from '../../src/index.js';
import type { ApplyOptions } from '../../src/engine/apply.js';
import { startFleet, parseScenario, type Fleet } from '../../mocks/fleet/index.js';
import type { SimRequestLogEntry } from '../../mocks/api/types.js';

export interface Sim {
  readonly fleet: Fleet;
  readonly inventory: Inventory;
  readonly dir: string;
  readonly events: EngineEvent[];
  readonly requests: SimRequestLogEntry[];
  /** Called after each API request was answered (e.g. to play a concurrent writer). */
  readonly onRequest: ((e: SimRequestLogEntry) => void)[];
  /** Engine options for a fast, observed run. */
  opts(extra?: Partial<ApplyOptions>): ApplyOptions;
  close(): Promise<void>;
}

/** A node passing its GPU through. `iommu=pt` changes the kernel command line, so applying it needs a reboot. */
export const VFIO_NODE = (name: string, profile = 'pve9-intel-grub-lvm', extra: Record<string, unknown> = {}) => ({
  name,
  profile,
  overrides: { hostname: name },
  declare: { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true },
  ...extra,
});

export async function startSim(raw: Record<string, unknown>, o: { rebootDelayMs?: number } = {}): Promise<Sim> {
  const dir = mkdtempSync(join(tmpdir(), 'pvpt-safety-'));
  const requests: SimRequestLogEntry[] = [];
  const onRequest: ((e: SimRequestLogEntry) => void)[] = [];
  const fleet = await startFleet({
    scenario: parseScenario({ name: 'safety', ...raw }),
    dir,
    rebootDelayMs: o.rebootDelayMs ?? 60,
    taskMs: 5,
    requestLog: (e) => {
      requests.push(e);
      for (const f of onRequest) f(e);
    },
  });
  const { inventory } = await loadInventory(fleet.inventoryPath);
  const events: EngineEvent[] = [];
  return {
    fleet,
    inventory,
    dir,
    events,
    requests,
    onRequest,
    opts: (extra = {}) => ({ pollMs: 20, onEvent: (e: EngineEvent) => events.push(e), ...extra }),
    close: async () => {
      await fleet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Where the run lease lives on a PVE cluster (src/engine/lease.ts CLUSTER_LEASE; spelled out here: the harness checks the engine from outside). */
export const LEASE_RECORD = '/etc/pve/priv/pve-passthrough/lease';

export interface FileSnap {
  readonly content: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** Every configuration file on every host: node -> path -> content and metadata. */
export function snapshot(fleet: Fleet, root = '/etc'): Map<string, Map<string, FileSnap>> {
  const out = new Map<string, Map<string, FileSnap>>();
  for (const c of fleet.clusters) {
    for (const [name, h] of c.hosts) {
      const files = new Map<string, FileSnap>();
      for (const p of h.state.vfs.walkFiles(root)) {
        const n = h.state.vfs.get(p, false);
        if (n?.kind === 'file') files.set(p, { content: n.content, mode: n.mode, uid: n.uid, gid: n.gid });
      }
      out.set(name, files);
    }
  }
  return out;
}

/** What the plan intends each changed file to become: node -> path -> new content (null = removed). */
export function intended(p: Plan): Map<string, Map<string, string | null>> {
  const out = new Map<string, Map<string, string | null>>();
  for (const c of p.clusters) {
    for (const n of c.nodes) {
      const m = new Map<string, string | null>();
      for (const s of n.steps) {
        if (s.kind === 'write-file') m.set(s.path, s.after);
        if (s.kind === 'remove-file') m.set(s.path, null);
      }
      out.set(n.node, m);
    }
  }
  return out;
}

/**
 * No line of any file was lost: every file is byte-for-byte its old version
 * or the version the plan intended, never anything in between; new files are
 * only the intended ones. Temporary files of an interrupted write (`.…pvpt-tmp`,
 * which nothing reads) are reported separately and not counted as files.
 * Returns node -> paths that changed (for callers that want to say which).
 */
export function expectIntact(
  before: Map<string, Map<string, FileSnap>>,
  after: Map<string, Map<string, FileSnap>>,
  planned: Map<string, Map<string, string | null>> = new Map(),
): Map<string, string[]> {
  const changed = new Map<string, string[]>();
  for (const [node, files] of before) {
    const now = after.get(node)!;
    const want = planned.get(node) ?? new Map<string, string | null>();
    const list: string[] = [];
    for (const [path, old] of files) {
      const cur = now.get(path);
      if (cur?.content === old.content) continue;
      const target = want.get(path);
      if (cur === undefined) {
        expect(target, `${node}:${path} disappeared without a plan to remove it`).toBeNull();
      } else {
        expect(target, `${node}:${path} changed without a plan to change it`).toBeDefined();
        expect(cur.content, `${node}:${path} is neither its old nor its planned version`).toBe(target);
        // Every line that was there and the plan kept is still there.
        for (const line of old.content.split('\n')) {
          if (target!.split('\n').includes(line)) expect(cur.content.split('\n')).toContain(line);
        }
      }
      list.push(path);
    }
    for (const [path, cur] of now) {
      // The run lease's record is not configuration; the tests about the lease check it themselves.
      if (files.has(path) || path.endsWith('.pvpt-tmp') || path === LEASE_RECORD) continue;
      expect(want.get(path), `${node}:${path} appeared without a plan to write it`).toBe(cur.content);
      list.push(path);
    }
    changed.set(node, list);
  }
  return changed;
}

/** Re-running apply converges: it succeeds, and afterwards plan has nothing to do and verify is compliant. */
export async function expectConverges(sim: Sim, extra: Partial<ApplyOptions> = {}): Promise<ApplyReport> {
  const report = await apply(sim.inventory, sim.opts(extra));
  expect(report.ok, JSON.stringify({ nodes: report.nodes, vms: report.vms, mappings: report.mappings }, null, 1)).toBe(true);
  const again = await plan(sim.inventory, sim.opts());
  for (const c of again.clusters) {
    for (const n of c.nodes) expect(n.steps, `${n.node} still has steps after a re-run`).toEqual([]);
    for (const v of c.vms) expect(v.changes, `VM ${v.vmid} still has changes after a re-run`).toEqual([]);
  }
  const v = await verify(sim.inventory, sim.opts());
  const failing = [...v.nodes, ...v.vms, ...v.clusters].flatMap((x) => x.checks.filter((c) => c.status === 'fail').map((c) => `${'vmid' in x ? `VM ${x.vmid}` : 'node' in x ? x.node : x.cluster}: ${c.id}: ${c.message}`));
  expect(failing).toEqual([]);
  // Everything the tool ran on any host stayed inside the documented dialect.
  for (const c of sim.fleet.clusters) for (const [name, h] of c.hosts) expect(h.violations, `dialect violations on ${name}`).toEqual([]);
  expect(v.verdict).toBe('compliant');
  return report;
}

/** Hosts of the fleet that rebooted, by name. */
export function reboots(fleet: Fleet): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of fleet.clusters) for (const [name, h] of c.hosts) out[name] = h.reboots;
  return out;
}
