/**
 * Disks the host needs, and the PCI controllers behind them:
 *   lsblk -n -P -o NAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT   KEY="value" pairs, one device (occurrence) per line
 *   readlink -f /sys/block/*                           disk -> sysfs path; the LAST PCI address is the controller
 * A device-mapper or md device appears once per parent, so PKNAME edges give
 * the whole stack. Holders (LVM PVs, LUKS, md members, ZFS members) are marked
 * themselves, so a dm stack whose parent is only known by kernel name (dm-N)
 * is still covered at its bottom.
 */
import { lastPciAddress } from './parse-net.js';
import { excerpt, splitLines, type Parsed } from './text.js';

export interface BlockDev {
  readonly name: string;
  readonly pkname: string;
  readonly type: string;
  readonly fstype: string;
  readonly mountpoint: string;
}

const PAIR = /([A-Z:]+)="((?:[^"\\]|\\x[0-9a-fA-F]{2}|\\.)*)"/g;

function unescape(v: string): string {
  return v.replace(/\\x([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
}

export function parseLsblk(output: string): Parsed<BlockDev[]> {
  const devs: BlockDev[] = [];
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line.trim() === '') continue;
    const f = new Map<string, string>();
    for (const m of line.matchAll(PAIR)) if (m[1] && m[2] !== undefined) f.set(m[1], unescape(m[2]));
    const name = f.get('NAME');
    if (!name || !f.has('TYPE') || !/^[A-Za-z0-9_.:+-]{1,128}$/.test(name)) {
      errors.push(`lsblk: unexpected line ${excerpt(line)}`);
      continue;
    }
    devs.push({
      name,
      pkname: f.get('PKNAME') ?? '',
      type: f.get('TYPE') ?? '',
      fstype: f.get('FSTYPE') ?? '',
      mountpoint: f.get('MOUNTPOINT') ?? '',
    });
  }
  return { value: devs, errors };
}

export interface BlockLink {
  /** Last PCI address in the path; null when there is none. */
  readonly bdf: string | null;
  /** /sys/devices/virtual/block/… (dm, md, loop, zd): no controller of its own. */
  readonly virtual: boolean;
  readonly path: string;
}

/** readlink -f /sys/block/* -> disk name -> controller. */
export function parseBlockLinks(output: string): Parsed<Map<string, BlockLink>> {
  const out = new Map<string, BlockLink>();
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line === '' || line.includes('*') || line.startsWith('readlink: ')) continue;
    const name = line.split('/').at(-1) ?? '';
    if (!line.startsWith('/sys/') || !/^[A-Za-z0-9_.:+-]{1,128}$/.test(name)) {
      errors.push(`block-links: unexpected line ${excerpt(line)}`);
      continue;
    }
    out.set(name, { bdf: lastPciAddress(line), virtual: line.startsWith('/sys/devices/virtual/block/'), path: line });
  }
  return { value: out, errors };
}

export interface NeededDisk {
  readonly kind: 'root-disk' | 'storage';
  /** The device that made it needed (partition, LV, …). */
  readonly device: string;
  readonly detail: string;
}

const HOLDER_FSTYPES: Readonly<Record<string, string>> = {
  zfs_member: 'ZFS pool member',
  LVM2_member: 'LVM physical volume',
  crypto_LUKS: 'LUKS container',
  linux_raid_member: 'md RAID member',
};

/** Why a block device matters to the host, or null. `pbt`: proxmox-boot-tool ESPs are in use (unmounted vfat partitions are ESPs). */
export function blockNeed(d: BlockDev, pbt: boolean): NeededDisk | null {
  if (d.mountpoint === '/') return { kind: 'root-disk', device: d.name, detail: `${d.name} holds /` };
  if (d.mountpoint === '/boot' || d.mountpoint.startsWith('/boot/')) return { kind: 'root-disk', device: d.name, detail: `${d.name} is mounted at ${d.mountpoint}` };
  if (d.mountpoint === '[SWAP]') return { kind: 'storage', device: d.name, detail: `${d.name} is swap` };
  const holder = HOLDER_FSTYPES[d.fstype];
  if (holder) return { kind: 'storage', device: d.name, detail: `${d.name} is a ${holder}` };
  if (pbt && d.type === 'part' && d.fstype === 'vfat') return { kind: 'root-disk', device: d.name, detail: `${d.name} is a vfat partition on a proxmox-boot-tool host (ESP)` };
  if (d.mountpoint !== '') return { kind: 'storage', device: d.name, detail: `${d.name} is mounted at ${d.mountpoint}` };
  return null;
}

/** Top-level devices (disks, loop, zd…) under `name`, following PKNAME edges. Unknown parents are returned separately. */
export function topLevelDevices(devs: readonly BlockDev[], name: string): { tops: string[]; unknown: string[] } {
  const parents = new Map<string, Set<string>>();
  for (const d of devs) {
    const set = parents.get(d.name) ?? new Set<string>();
    if (d.pkname !== '') set.add(d.pkname);
    parents.set(d.name, set);
  }
  const tops = new Set<string>();
  const unknown = new Set<string>();
  const seen = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const n = queue.shift() as string;
    if (seen.has(n)) continue;
    seen.add(n);
    const ps = parents.get(n);
    if (ps === undefined) unknown.add(n);
    else if (ps.size === 0) tops.add(n);
    else queue.push(...ps);
  }
  return { tops: [...tops].sort(), unknown: [...unknown].sort() };
}
