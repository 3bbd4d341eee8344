/**
 * demo: the whole flow on a simulated fleet, with the normal output of each
 * command: plan, apply, plan again, verify, then drift and verify again.
 * Exit 0 when the walkthrough ran as designed (refusals included).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../../inventory/load.js';
import { SecretStore } from '../../inventory/secrets.js';
import { createContext, type EngineOptions } from '../../engine/context.js';
import type { Inventory } from '../../inventory/schema.js';
import { planWith } from '../../engine/plan.js';
import { applyWith } from '../../engine/apply.js';
import { verifyWith } from '../../engine/verify.js';
import { planHasWork, summarisePlan } from '../../engine/types.js';
import { createProgress, type Progress } from '../progress.js';
import { renderPlan } from '../render/plan.js';
import { renderApply } from '../render/apply.js';
import { renderVerify } from '../render/verify.js';
import { makeStyle, type Style } from '../style.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../common.js';
import { loadScenario } from './sim.js';
import { loadSimulator, type Simulator } from '../simulator.js';

type Fleet = Awaited<ReturnType<Simulator['startFleet']>>;

/** What each step of the walkthrough uses: stdout with its style, progress on stderr, the engine options, and the verdict so far. */
interface Demo {
  readonly out: Style;
  readonly say: (s: string) => void;
  readonly heading: (s: string) => void;
  readonly progress: Progress;
  readonly opts: EngineOptions;
  /** Says and remembers what did not go as designed. */
  readonly expect: (cond: boolean, what: string) => void;
  readonly ok: () => boolean;
}

function makeDemo(): Demo {
  const out = makeStyle(process.stdout);
  const say = (s: string) => void process.stdout.write(`${s}\n`);
  const secrets = new SecretStore();
  const progress = createProgress({ stream: process.stderr, style: makeStyle(process.stderr), verbose: false, quiet: false, secrets: () => secrets.values() });
  let ok = true;
  return {
    out,
    say,
    heading: (s) => say(`\n${out.bold(out.cyan(`━━ ${s}`))}`),
    progress,
    opts: { secrets, onEvent: progress.onEvent, pollMs: 100 },
    expect(cond, what) {
      if (cond) return;
      ok = false;
      say(out.red(`✖ unexpected: ${what}`));
    },
    ok: () => ok,
  };
}

/** Steps 1-3: plan, apply, plan again. Returns the refusals the first plan showed. */
async function planApplyReplan(d: Demo, inventory: Inventory): Promise<string[]> {
  const { out, say, progress } = d;
  d.heading('1. plan — what would change (nothing is written)');
  let ctx = createContext(inventory, d.opts);
  const plan1 = await planWith(ctx);
  progress.done();
  say(renderPlan(plan1, out).trimEnd());
  const s1 = summarisePlan(plan1);
  d.expect(planHasWork(s1) && s1.errors === 0, 'the first plan should have changes and no errors');
  const refusals = plan1.clusters.flatMap((c) => c.nodes.flatMap((n) => n.refused.map((r) => `${n.node}: ${r.subject}: ${r.reason}`)));

  d.heading('2. apply --yes — write with backups, refresh, rolling reboots, verify each node, then the VMs');
  const report = await applyWith(ctx, plan1);
  progress.done();
  await ctx.conn.closeAll();
  say(renderApply(report, out).trimEnd());
  const failedNodes = report.nodes.filter((n) => n.outcome === 'failed');
  d.expect(failedNodes.length === 0, `no node should fail (${failedNodes.map((n) => `${n.node}: ${n.message}`).join('; ')})`);
  const refusedNodes = report.nodes.filter((n) => n.outcome === 'refused').map((n) => n.node);
  if (refusedNodes.length) say(out.cyan(`(Expected: ${refusedNodes.join(', ')} was refused on purpose — the demo fleet includes a board the tool must not touch. That refusal is part of the lesson, not a failure of the demo.)`));

  d.heading('3. plan again — the declared state holds (only the refused device remains)');
  ctx = createContext(inventory, d.opts);
  const plan2 = await planWith(ctx);
  progress.done();
  await ctx.conn.closeAll();
  say(renderPlan(plan2, out).trimEnd());
  const s2 = summarisePlan(plan2);
  d.expect(s2.steps === 0 && s2.vmsWithChanges === 0 && s2.mappingsWithChanges === 0, 'the second plan should change nothing');
  return refusals;
}

/** Steps 4-5: verify the converged clusters, then drift on pve1 and verify again. */
async function verifyAndDrift(d: Demo, inventory: Inventory, fleet: Fleet, applyDrift: Simulator['applyDrift']): Promise<void> {
  const { out, say, progress } = d;
  d.heading('4. verify — read-only compliance (exit 0 = compliant)');
  const converged = { ...inventory, clusters: inventory.clusters.filter((c) => c.name !== 'home') };
  let ctx = createContext(converged, d.opts);
  const v1 = await verifyWith(ctx);
  progress.done();
  await ctx.conn.closeAll();
  say(renderVerify(v1, 'table', out).trimEnd());
  d.expect(v1.verdict === 'compliant', 'verify should pass on the converged clusters');

  d.heading('5. drift — someone deletes the vfio module list on pve1; verify notices (exit 2)');
  applyDrift(fleet, { node: 'pve1', action: 'remove-file', path: '/etc/modules-load.d/pve-passthrough.conf' });
  ctx = createContext(converged, { ...d.opts, selection: { nodes: ['pve1'] } });
  const v2 = await verifyWith(ctx);
  progress.done();
  await ctx.conn.closeAll();
  const failing = v2.nodes.flatMap((n) => n.checks.filter((c) => c.status === 'fail').map((c) => `${n.node}: ${c.id} — ${c.message}`));
  say(failing.map((l) => out.red(`  FAIL ${l}`)).join('\n'));
  d.expect(v2.verdict === 'drift', 'verify should report the drift');
}

function whatHappened(d: Demo, fleet: Fleet, refusals: readonly string[]): void {
  const { out, say } = d;
  d.heading('What happened');
  const reboots = fleet.clusters.flatMap((c) => [...c.hosts].map(([n, h]) => `${n} ×${h.reboots}`));
  say(`- Each node got only what its kernel and boot loader need: GRUB drop-in on GRUB hosts, /etc/kernel/cmdline + proxmox-boot-tool refresh on systemd-boot, intel_iommu=on only below kernel 6.8, vfio modules, vfio-pci ids with softdeps, initramfs refreshed.`);
  say(`- Reboots went one node at a time per cluster, each waited for a new boot_id and passed verification before the next (${reboots.join(', ')}).`);
  say(`- VMs were switched to q35 where pcie=1 needs it; VM 102 (running) was shut down, changed and started again; the rx6800 mapping was created from the node's hardware.`);
  if (refusals.length) say(`- Refused for safety (nothing was written for it): ${refusals.join('; ')}.`);
  say(`- Drift is caught read-only: verify exits 2 and names the check; \`apply\` would put the file back.`);
  if (d.ok()) say(`\n${out.green(`✔ The demo ran as designed${refusals.length ? ' (the refusals it showed are part of the lesson)' : ''}.`)}`);
}

export async function demoCommand(f: { keep?: boolean }): Promise<number> {
  let sim: Simulator;
  try {
    sim = await loadSimulator('demo');
  } catch (err) {
    return reportError(err, {});
  }
  const dir = mkdtempSync(join(tmpdir(), 'pve-passthrough-demo-'));
  const started = Date.now();
  const fleet = await sim.startFleet({ scenario: loadScenario(sim, 'demo', 'demo'), dir });
  const d = makeDemo();
  const { out, say } = d;
  try {
    const { inventory } = await loadInventory(fleet.inventoryPath);
    const nodes = fleet.clusters.reduce((n, c) => n + c.hosts.size, 0);
    say(out.bold('pve-passthrough demo: a simulated Proxmox fleet on this machine (real SSH and HTTPS on 127.0.0.1; nothing real is touched)'));
    say(`${fleet.clusters.length} clusters, ${nodes} nodes: ${fleet.clusters.map((c) => `${c.name} (${[...c.hosts.keys()].join(', ')})`).join('; ')}`);
    say(`inventory: ${fleet.inventoryPath}`);
    const refusals = await planApplyReplan(d, inventory);
    await verifyAndDrift(d, inventory, fleet, sim.applyDrift);
    whatHappened(d, fleet, refusals);
    say(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s. Next: \`pve-passthrough sim\` keeps a fleet running so you can drive plan/apply/verify yourself.`);
    if (f.keep) {
      say(`The fleet keeps running (inventory ${fleet.inventoryPath}); Ctrl-C to stop.`);
      await new Promise<void>((r) => process.once('SIGINT', r));
    }
    return d.ok() ? EXIT.ok : EXIT.error;
  } catch (err) {
    d.progress.done();
    return reportError(err, {});
  } finally {
    await fleet.close();
    if (!f.keep) rmSync(dir, { recursive: true, force: true });
  }
}
