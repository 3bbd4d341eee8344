/**
 * PCI devices the host cannot give away (docs/architecture.md "Batched reads"):
 *   management-network  the default-route interfaces and the interface holding the
 *                       address the tool connected to, walked down to PCI NICs
 *   cluster-network     this node's corosync ring addresses, mapped to local interfaces
 *   root-disk / storage controllers of disks holding /, /boot*, swap, ESPs, ZFS/LVM/LUKS/md
 *                       members or any mounted file system
 *   boot-console        boot_vga = 1
 * Anything that cannot be traced with certainty is reported as an error, so
 * writes stay blocked rather than guessing.
 */
import { blockNeed, topLevelDevices, type BlockDev, type BlockLink } from './parse-lsblk.js';
import { isIpLiteral, normalizeAddress, walkToPci, type CorosyncNode, type NetTopology } from './parse-net.js';
import type { Parsed } from './text.js';
import type { HostNeedReason } from './types.js';

export interface HostNeedsInput {
  readonly hostname: string;
  readonly connectedAddress?: string;
  readonly topology: NetTopology;
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  readonly defaultRouteIfaces: readonly string[];
  readonly corosyncNodes: readonly CorosyncNode[];
  readonly blockDevs: readonly BlockDev[];
  readonly blockLinks: ReadonlyMap<string, BlockLink>;
  readonly proxmoxBootTool: boolean;
  readonly bootVga: Iterable<string>;
}

function ifacesWithAddress(addresses: ReadonlyMap<string, readonly string[]>, addr: string): string[] {
  const want = normalizeAddress(addr);
  return [...addresses].filter(([, list]) => list.includes(want)).map(([iface]) => iface).sort();
}

const VIRTUAL_TOP = /^(?:loop|zd|dm-|md|nbd|rbd|sr|ram|zram)\d*/;

export function computeHostNeeds(input: HostNeedsInput): Parsed<Record<string, HostNeedReason[]>> {
  const needs = new Map<string, HostNeedReason[]>();
  const errors: string[] = [];
  const add = (bdf: string, reason: HostNeedReason): void => {
    const list = needs.get(bdf) ?? [];
    if (!list.some((r) => JSON.stringify(r) === JSON.stringify(reason))) list.push(reason);
    needs.set(bdf, list);
  };
  const addNet = (kind: 'management-network' | 'cluster-network', iface: string, why: string): void => {
    for (const nic of walkToPci(input.topology, iface)) {
      add(nic.bdf, { kind, iface: nic.iface, detail: `${nic.chain.join(' -> ')} (${why})` });
    }
  };

  for (const iface of input.defaultRouteIfaces) addNet('management-network', iface, 'default route');
  if (input.connectedAddress !== undefined && input.connectedAddress !== '') {
    for (const iface of ifacesWithAddress(input.addresses, input.connectedAddress)) {
      addNet('management-network', iface, `holds ${normalizeAddress(input.connectedAddress)}, the address the tool connected to`);
    }
  }

  const shortHost = input.hostname.split('.')[0] ?? '';
  for (const node of input.corosyncNodes) {
    const local = node.name !== null && node.name.split('.')[0] === shortHost;
    for (const ring of node.rings) {
      if (!isIpLiteral(ring)) {
        if (local) errors.push(`corosync.conf: ring address ${JSON.stringify(ring)} of this node is a host name; cannot tell which NIC carries it`);
        continue;
      }
      const ifaces = ifacesWithAddress(input.addresses, ring);
      if (ifaces.length === 0 && local) errors.push(`corosync.conf: ring address ${ring} of this node is not on any local interface`);
      for (const iface of ifaces) addNet('cluster-network', iface, `corosync ring address ${normalizeAddress(ring)}`);
    }
  }

  const unmapped = new Set<string>();
  for (const dev of input.blockDevs) {
    const need = blockNeed(dev, input.proxmoxBootTool);
    if (!need) continue;
    const { tops, unknown } = topLevelDevices(input.blockDevs, dev.name);
    for (const u of unknown) {
      // dm-N / mdN parents are only known by kernel name; their own holders are marked directly.
      if (!VIRTUAL_TOP.test(u)) errors.push(`lsblk: ${dev.name} has parent ${JSON.stringify(u)} that lsblk did not list`);
    }
    for (const top of tops) {
      const link = input.blockLinks.get(top);
      if (link?.bdf) {
        add(link.bdf, { kind: need.kind, detail: `${top}: ${need.detail}` });
      } else if (link?.virtual || (!link && VIRTUAL_TOP.test(top))) {
        continue; // no controller of its own; its backing devices are marked by their own type
      } else if (!unmapped.has(top)) {
        unmapped.add(top);
        errors.push(`cannot map disk ${top} (${need.detail}) to a PCI controller${link ? ` (${link.path})` : ': no /sys/block entry'}`);
      }
    }
  }

  for (const bdf of input.bootVga) add(bdf, { kind: 'boot-console', detail: 'boot_vga = 1: the GPU the firmware console uses' });

  const sorted: Record<string, HostNeedReason[]> = {};
  for (const bdf of [...needs.keys()].sort()) sorted[bdf] = needs.get(bdf) as HostNeedReason[];
  return { value: sorted, errors };
}
