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

/** Samples how many of the fleet's hosts are down at once, every few ms. */
export function watchDown(fleet: Fleet): { max: () => number; stop: () => void } {
  let max = 0;
  const hosts = fleet.clusters.flatMap((c) => [...c.hosts.values()]);
  const t = setInterval(() => {
    max = Math.max(max, hosts.filter((h) => h.down).length);
  }, 3);
  return { max: () => max, stop: () => clearInterval(t) };
}
