/**
 * The simulator process: starts a fleet from a BenchFleetSpec (argv[2], JSON),
 * prints a `ready` line with the inventory and the hosts, then answers
 * `stats` and `quit` commands read line by line from stdin.
 *
 *   node dist/bench/sim-server.js '{"dir":"/tmp/x","clusters":[{"name":"c1","nodes":10,"api":false}]}'
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { parseScenario, startFleet } from '@pve-passthrough/simulator';
import { benchScenario, type BenchFleetSpec } from './scenario.js';
import { routeOf, type SimCommand, type SimMessage } from './protocol.js';

function send(m: SimMessage): void {
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as BenchFleetSpec;
  const scenario = parseScenario(benchScenario(spec), 'bench scenario');
  const requests = new Map<string, number>();
  const fleet = await startFleet({
    scenario,
    dir: spec.dir,
    ...(spec.taskMs !== undefined ? { taskMs: spec.taskMs } : {}),
    ...(spec.logRequests
      ? {
          requestLog: (e: { method: string; path: string }) => {
            const key = `${e.method} ${routeOf(e.path)}`;
            requests.set(key, (requests.get(key) ?? 0) + 1);
          },
        }
      : {}),
  });
  const hosts = fleet.clusters.flatMap((c) => [...c.hosts].map(([node, h]) => ({ cluster: c.name, node, port: h.port, fingerprint: h.hostKeyFingerprint })));
  let cpuMark = process.cpuUsage();
  send({ type: 'ready', inventoryPath: fleet.inventoryPath, keyPath: join(spec.dir, 'sim-id_ed25519'), hosts });

  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const c = JSON.parse(line) as SimCommand;
    if (c.cmd === 'stats') {
      const connections: Record<string, number> = {};
      for (const cl of fleet.clusters) for (const [node, h] of cl.hosts) connections[node] = h.connectionsAccepted;
      const cpu = process.cpuUsage(cpuMark);
      cpuMark = process.cpuUsage();
      const counted = [...requests].map(([k, count]) => {
        const [method = '', route = ''] = k.split(' ');
        return { method, route, count };
      });
      requests.clear();
      send({ type: 'stats', connections, requests: counted, cpuSeconds: (cpu.user + cpu.system) / 1e6, rssMb: process.memoryUsage.rss() / 2 ** 20 });
    } else if (c.cmd === 'quit') {
      break;
    }
  }
  await fleet.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  process.exit(1);
});
