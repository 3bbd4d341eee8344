/** Start a small simulated fleet for a test and load its inventory. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseScenario, startFleet, type Fleet } from '../../mocks/index.js';
import { loadInventory } from '../../src/inventory/load.js';
import type { Inventory } from '../../src/inventory/schema.js';

export interface TestFleet {
  readonly fleet: Fleet;
  readonly inventory: Inventory;
  readonly dir: string;
  close(): Promise<void>;
}

export async function testFleet(scenario: unknown, o: { rebootDelayMs?: number } = {}): Promise<TestFleet> {
  const dir = mkdtempSync(join(tmpdir(), 'pvpt-test-'));
  const fleet = await startFleet({ scenario: parseScenario(scenario, 'test'), dir, rebootDelayMs: o.rebootDelayMs ?? 60, taskMs: 5 });
  const { inventory } = await loadInventory(fleet.inventoryPath);
  return {
    fleet,
    inventory,
    dir,
    async close() {
      await fleet.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A node of the PVE 9 Intel GRUB profile that declares its GPU and iommu=pt:
 * the token is not on the running command line, so the node must reboot
 * (without it the GPU would move to vfio-pci live, with no reboot).
 */
export function gpuNode(name: string, extra: Record<string, unknown> = {}) {
  return { name, profile: 'pve9-intel-grub-lvm', declare: { devices: [{ address: '0000:01:00.0' }], iommuPassthrough: true }, ...extra };
}

/**
 * Watches every reboot of the fleet's hosts as it happens (the simulator's
 * onDownChange, no sampling): the most hosts down at once, and how many times a
 * host going down left its cluster without quorum.
 */
export function watchDown(fleet: Fleet): { max: () => number; lostQuorum: () => number; stop: () => void } {
  let max = 0;
  let lostQuorum = 0;
  const hosts = fleet.clusters.flatMap((c) => [...c.hosts.values()]);
  const stops = fleet.clusters.flatMap((c) => [...c.hosts.values()].map((h) => h.onDownChange((down) => {
    if (!down) return;
    max = Math.max(max, hosts.filter((x) => x.down).length);
    if (c.api && !c.api.state.quorum().quorate) lostQuorum++;
  })));
  return { max: () => max, lostQuorum: () => lostQuorum, stop: () => { for (const s of stops) s(); } };
}

/** The HA maintenance commands and the reboot a node ran, in order: 'enable', 'reboot', 'disable'. */
export function haCommands(t: TestFleet, node = 'pve1'): string[] {
  return t.fleet.host(node).state.commandLog.flatMap((s) => {
    const m = /node-maintenance' '(enable|disable)'|systemctl' 'reboot'|systemctl reboot/.exec(s);
    return m ? [m[1] ?? 'reboot'] : [];
  });
}
