// The library API against the simulated cluster: plan, apply, verify.
//   npm ci && node examples/library.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apply, loadInventory, plan, renderPlan, summarisePlan, verify } from 'pve-passthrough';
import { BUILTIN_SCENARIOS, startFleet } from '@pve-passthrough/simulator';

const dir = mkdtempSync(join(tmpdir(), 'pve-passthrough-example-'));
const fleet = await startFleet({ scenario: BUILTIN_SCENARIOS.converge, dir });
try {
  const { inventory } = await loadInventory(fleet.inventoryPath);
  const onEvent = (e) => {
    if (e.type === 'node' && (e.status === 'done' || e.status === 'failed')) console.error(`${e.cluster}/${e.node}: ${e.message}`);
  };

  const before = await plan(inventory, { onEvent });
  process.stdout.write(renderPlan(before));

  const report = await apply(inventory, { plan: before, onEvent, pollMs: 100 });
  console.log(`apply ok: ${report.ok}`);

  const after = summarisePlan(await plan(inventory));
  console.log(`steps left: ${after.steps}`);

  const v = await verify(inventory);
  console.log(`verify: ${v.verdict}`);
  process.exitCode = report.ok && after.steps === 0 && v.verdict === 'compliant' ? 0 : 1;
} finally {
  await fleet.close();
  rmSync(dir, { recursive: true, force: true });
}
