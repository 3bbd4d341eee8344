/**
 * Which PCI devices this host cannot lose: the NICs under the default route
 * and the corosync addresses (through bridges, bonds and VLANs), and the
 * controllers of disks holding /, swap, an ESP, ZFS or LVM. The simulated
 * kernel refuses to unbind them at run time, and a boot that hands one to
 * vfio-pci cuts the host off, as it would for real.
 */
import type { NetIfaceSpec, ProfileData } from './profile-types.js';

export function hostNeededDevices(p: ProfileData): Map<string, string> {
  const needs = new Map<string, string>();
  const byName = new Map<string, NetIfaceSpec>(p.net.ifaces.map((i) => [i.name, i]));
  const walk = (name: string, why: string, seen: Set<string>): void => {
    if (seen.has(name)) return;
    seen.add(name);
    const i = byName.get(name);
    if (!i) return;
    switch (i.kind) {
      case 'phys':
        if (!needs.has(i.pci)) needs.set(i.pci, `${why} via ${name}`);
        break;
      case 'bridge':
        for (const port of i.ports) walk(port, why, seen);
        break;
      case 'bond':
        for (const s of i.slaves) walk(s, why, seen);
        break;
      case 'vlan':
        walk(i.parent, why, seen);
        break;
      case 'loopback':
        break;
    }
  };
  walk(p.net.defaultRoute.dev, `management network (default route on ${p.net.defaultRoute.dev})`, new Set());
  for (const addr of corosyncAddrs(p.corosync)) {
    const iface = p.net.ifaces.find((i) => i.addrs.some((a) => a.split('/')[0] === addr));
    if (iface) walk(iface.name, `cluster network (corosync ${addr} on ${iface.name})`, new Set());
  }
  const rows = new Map(p.block.rows.map((r) => [r.name, r]));
  for (const r of p.block.rows) {
    const needed = r.mountpoint === '/' || r.mountpoint === '[SWAP]' || r.mountpoint.startsWith('/boot') || ['vfat', 'zfs_member', 'LVM2_member', 'swap'].includes(r.fstype);
    if (!needed) continue;
    let disk = r;
    for (let guard = 0; disk.pkname !== '' && guard < 16; guard++) disk = rows.get(disk.pkname) ?? disk;
    const ctrl = p.block.controllers[disk.name];
    if (ctrl && !needs.has(ctrl)) needs.set(ctrl, `storage (${r.name} ${r.fstype || r.mountpoint} on ${disk.name})`);
  }
  return needs;
}

/** ringN_addr values from corosync.conf. */
export function corosyncAddrs(conf: string | null): string[] {
  if (!conf) return [];
  return [...conf.matchAll(/ring\d+_addr:\s*(\S+)/g)].map((m) => m[1]!);
}
