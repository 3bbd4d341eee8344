/**
 * sim: run a simulated fleet in the foreground until interrupted. Prints one
 * `ready` line on stderr once the inventory is written.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { dirname, resolve, basename } from 'node:path';
import { InputError } from '../../errors.js';
import { EXIT } from '../exit-codes.js';
import { reportError } from '../common.js';
import { loadSimulator, type Simulator } from '../simulator.js';

export interface SimFlags {
  scenario?: string;
  inventoryOut: string;
  requestLog?: string;
  controlPort?: string;
}

export function loadScenario({ BUILTIN_SCENARIOS, parseScenario }: Simulator, nameOrFile: string | undefined, fallback: string) {
  const name = nameOrFile ?? fallback;
  const builtin = BUILTIN_SCENARIOS[name];
  if (builtin) return builtin;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(name, 'utf8'));
  } catch (err) {
    throw new InputError(`cannot read scenario ${name}: ${(err as Error).message}`, [], { fix: `pass a scenario JSON file or one of: ${Object.keys(BUILTIN_SCENARIOS).join(', ')}` });
  }
  try {
    return parseScenario(raw, name);
  } catch (err) {
    throw new InputError((err as Error).message, [], { fix: 'see mocks/README.md for the scenario format' });
  }
}

export async function simCommand(f: SimFlags): Promise<number> {
  try {
    const sim = await loadSimulator('sim');
    const { startFleet, startControl } = sim;
    const scenario = loadScenario(sim, f.scenario, 'converge');
    const out = resolve(f.inventoryOut);
    const requestLog = f.requestLog ? resolve(f.requestLog) : undefined;
    const fleet = await startFleet({
      scenario,
      dir: dirname(out),
      inventoryFile: basename(out),
      requestLog: requestLog ? (e) => appendFileSync(requestLog, `${JSON.stringify(e)}\n`) : undefined,
    });
    const control = await startControl(fleet, f.controlPort ? Number(f.controlPort) : 0);
    const nodes = fleet.clusters.reduce((n, c) => n + c.hosts.size, 0);
    process.stderr.write(`simulated fleet "${scenario.name}": ${fleet.clusters.length} cluster(s), ${nodes} node(s)\n`);
    for (const c of fleet.clusters) process.stderr.write(`  ${c.name}: API ${c.server?.url ?? '(none)'}; nodes ${[...c.hosts].map(([n, h]) => `${n}@127.0.0.1:${h.port}`).join(', ')}\n`);
    process.stderr.write(`  control: ${control.url} (GET /state, POST /drift, POST /fault)\n`);
    process.stderr.write(`ready: inventory written to ${fleet.inventoryPath}; try: pve-passthrough plan -i ${fleet.inventoryPath}\n`);
    await new Promise<void>((r) => {
      process.once('SIGINT', r);
      process.once('SIGTERM', r);
    });
    process.stderr.write('stopping the simulated fleet\n');
    await control.close();
    await fleet.close();
    return EXIT.ok;
  } catch (err) {
    return reportError(err, {});
  }
}
