/**
 * Figure 4: PVE API requests per VM, for an apply and for a no-change verify
 * right after it. Two fleet sizes give the fixed part (login, cluster reads)
 * and the part each VM adds; the simulator counts every request by route.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { measure } from './measure.js';
import { CLI } from './paths.js';
import type { RequestCount } from './protocol.js';
import { SimProcess } from './sim-process.js';

export interface ApiCounts {
  readonly vms: number;
  readonly applyRequests: number;
  readonly verifyRequests: number;
  readonly applyRoutes: readonly RequestCount[];
  readonly verifyRoutes: readonly RequestCount[];
}

export interface ApiFigure {
  readonly nodes: number;
  readonly sizes: readonly ApiCounts[];
  /** Requests each additional VM adds (slope between the smallest and largest size). */
  readonly applyPerVm: number;
  readonly verifyPerVm: number;
}

export interface ApiBenchOptions {
  readonly nodes: number;
  readonly vmsPerNode: readonly number[];
  readonly workDir: string;
  readonly log: (s: string) => void;
}

const total = (rs: readonly RequestCount[]) => rs.reduce((n, r) => n + r.count, 0);
const sorted = (rs: readonly RequestCount[]) => [...rs].sort((a, b) => b.count - a.count || a.route.localeCompare(b.route));

async function countsFor(o: ApiBenchOptions, vmsPerNode: number): Promise<ApiCounts> {
  const dir = await mkdtemp(join(o.workDir, 'api-'));
  const { sim, ready } = await SimProcess.start({ dir: join(dir, 'sim'), logRequests: true, clusters: [{ name: 'c1', nodes: o.nodes, api: true, vmsPerNode, rebootDelayMs: 200 }] }, 4096);
  try {
    const env = { ...process.env, XDG_STATE_HOME: join(dir, 'state'), XDG_CONFIG_HOME: join(dir, 'config'), NO_COLOR: '1' };
    const io = { env, stdoutFile: join(dir, 'stdout'), stderrFile: join(dir, 'stderr'), scratchDir: dir };
    const fail = async (what: string, code: number | null) => new Error(`${what} exited ${code}: ${(await readFile(io.stderrFile, 'utf8')).slice(0, 500)}\n${(await readFile(io.stdoutFile, 'utf8')).slice(0, 1500)}`);
    await sim.stats(); // start counting here
    const a = await measure(process.execPath, [CLI, 'apply', '-i', ready.inventoryPath, '--yes', '--json', '-q', '--poll-ms', '50'], io);
    if (a.code !== 0) throw await fail('apply', a.code);
    const applyRoutes = (await sim.stats()).requests;
    const v = await measure(process.execPath, [CLI, 'verify', '-i', ready.inventoryPath, '--json', '-q'], io);
    if (v.code !== 0) throw await fail('no-change verify', v.code);
    const verifyRoutes = (await sim.stats()).requests;
    const vms = vmsPerNode * o.nodes;
    o.log(`  api: ${vms} VMs: apply ${total(applyRoutes)} requests, verify ${total(verifyRoutes)} requests`);
    return { vms, applyRequests: total(applyRoutes), verifyRequests: total(verifyRoutes), applyRoutes: sorted(applyRoutes), verifyRoutes: sorted(verifyRoutes) };
  } finally {
    await sim.quit();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function apiBench(o: ApiBenchOptions): Promise<ApiFigure> {
  const sizes: ApiCounts[] = [];
  for (const k of o.vmsPerNode) sizes.push(await countsFor(o, k));
  const first = sizes[0]!;
  const last = sizes[sizes.length - 1]!;
  const dv = last.vms - first.vms;
  return {
    nodes: o.nodes,
    sizes,
    applyPerVm: dv > 0 ? (last.applyRequests - first.applyRequests) / dv : Number.NaN,
    verifyPerVm: dv > 0 ? (last.verifyRequests - first.verifyRequests) / dv : Number.NaN,
  };
}
