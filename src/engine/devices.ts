/**
 * devices: what each node has and whether it can be given away. Isolation
 * and twins are the rules plan and verify use (groupIntruders, twinsOf in
 * src/operations/host/), asked of each function alone.
 */
import PQueue from 'p-queue';
import { installOf, modprobeConfigFrom, moduleParam, vfioPciIds } from '../facts/host/modprobe-d.js';
import type { HostFacts, PciDevice } from '../facts/host/types.js';
import type { Inventory } from '../inventory/schema.js';
import { slotOf, twinsOf } from '../operations/host/driver-binding.js';
import { groupIntruders, targetDevice } from '../operations/host/safety.js';
import { resolveSelection, selectedClusters, selectedNodes, withContext, type EngineOptions } from './context.js';
import { errorInfo } from './errors.js';
import { readFacts } from './node-facts.js';
import type { ErrorInfo } from './types.js';

export interface DeviceInfo {
  readonly address: string;
  readonly id: string;
  readonly subsystemId: string | null;
  readonly className: string;
  readonly description: string;
  readonly driver: string | null;
  readonly iommuGroup: number | null;
  /** Other endpoints in the group that are not functions of the same slot (bridges excluded). */
  readonly groupPeers: readonly string[];
  readonly isolated: boolean;
  readonly hostNeeds: readonly string[];
  readonly bootVga: boolean;
  /** Other devices with the same vendor:device id (ids= binding would take them too). */
  readonly twins: readonly string[];
  /** `file:line` of the effective modprobe.d line that hands it to vfio-pci at the next boot (ids= or a driver_override hook kmod runs); null = none. */
  readonly vfioAtBoot: string | null;
}

/** The line of the effective modprobe configuration (every directory, as kmod reads it) that binds this device to vfio-pci at boot. */
function vfioAtBoot(facts: HostFacts, d: PciDevice, cfg = modprobeConfigFrom(facts.files).value): string | null {
  const ids = moduleParam(cfg, 'vfio_pci', 'ids');
  if (ids && vfioPciIds(cfg).value.ids.includes(d.id)) return `${ids.from.file}:${ids.from.line}`;
  const hook = cfg.installs.find((i) => installOf(cfg, i.module) === i && i.command.includes(`/sys/bus/pci/devices/${d.address}/driver_override`));
  return hook ? `${hook.file}:${hook.line}` : null;
}

export interface NodeDevices {
  readonly cluster: string;
  readonly node: string;
  readonly iommuActive: boolean | null;
  readonly devices: readonly DeviceInfo[];
  readonly error?: ErrorInfo;
}

export function describeDevices(facts: HostFacts, includeBridges = false): DeviceInfo[] {
  const cfg = modprobeConfigFrom(facts.files).value;
  return facts.pci
    .filter((d) => includeBridges || !d.isBridge)
    .map((d) => {
      // The function alone, as a declaration of it would be; its own slot is never a peer or a twin.
      const alone = targetDevice(d.address);
      const ownSlot = new Set(facts.pci.filter((o) => slotOf(o.address) === slotOf(d.address)).map((o) => o.address));
      const peers = groupIntruders(alone, facts, ownSlot).map((o) => o.address);
      return {
        address: d.address,
        id: d.id,
        subsystemId: d.subsystemId,
        className: d.className,
        description: d.description,
        driver: d.driver,
        iommuGroup: d.iommuGroup,
        groupPeers: peers,
        isolated: d.iommuGroup !== null && peers.length === 0,
        hostNeeds: (facts.hostNeeds[d.address] ?? []).map((r) => `${r.kind}${'iface' in r ? ` (${r.iface})` : ''}: ${r.detail}`),
        bootVga: d.bootVga,
        twins: twinsOf(alone, facts, ownSlot).map((o) => o.address),
        vfioAtBoot: vfioAtBoot(facts, d, cfg),
      };
    });
}

export async function devices(inventory: Inventory, options: EngineOptions = {}): Promise<NodeDevices[]> {
  return withContext(inventory, options, async (ctx) => {
    await resolveSelection(ctx);
    const queue = new PQueue({ concurrency: ctx.concurrency });
    const jobs: Promise<NodeDevices>[] = [];
    for (const c of selectedClusters(ctx)) {
      for (const n of selectedNodes(ctx, c)) {
        jobs.push(queue.add(async (): Promise<NodeDevices> => {
          try {
            const facts = await readFacts(ctx, c, n);
            return { cluster: c.name, node: n.name, iommuActive: facts.iommu.active, devices: describeDevices(facts) };
          } catch (err) {
            return { cluster: c.name, node: n.name, iommuActive: null, devices: [], error: errorInfo(err, 'facts') };
          }
        }));
      }
    }
    return Promise.all(jobs);
  });
}
