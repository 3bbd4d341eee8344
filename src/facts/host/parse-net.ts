/**
 * Network topology, enough to find the PCI NICs the host itself needs:
 *   readlink -f /sys/class/net/*          iface -> sysfs path (last PCI address = its NIC; /virtual/ = none)
 *   printf '%s\n' /sys/class/net/*\/brif/* bridge -> ports
 *   grep -H . /sys/class/net/*\/bonding/slaves bond -> slaves
 *   ip -o addr show                       iface -> addresses (`name@parent` marks a VLAN)
 *   ip -o route show default              default-route interfaces
 *   /etc/pve/corosync.conf                ringN_addr per node
 * `walkToPci` follows bridges, bonds and VLANs (`parent.vid` or `@parent`) down to PCI devices.
 */
import { parseGlobList } from './parse-glob-list.js';
import { parseGrepValues } from './parse-grep-tree.js';
import { excerpt, splitLines, type Parsed } from './text.js';

const IFACE = /^[A-Za-z0-9_.:@+-]{1,31}$/;
const BDF_IN_PATH = /[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]/g;

/** The last PCI address in a sysfs path (the device itself; earlier ones are bridges). */
export function lastPciAddress(path: string): string | null {
  return path.match(BDF_IN_PATH)?.at(-1) ?? null;
}

/** readlink -f /sys/class/net/* -> iface -> BDF (null: virtual or not on PCI). */
export function parseNetLinks(output: string): Parsed<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line === '' || line.startsWith('readlink: ')) continue;
    const name = line.split('/').at(-1) ?? '';
    if (!line.startsWith('/sys/') || !IFACE.test(name) || name.includes('*')) {
      if (!line.includes('*')) errors.push(`net-links: unexpected line ${excerpt(line)}`);
      continue;
    }
    out.set(name, line.includes('/virtual/') ? null : lastPciAddress(line));
  }
  return { value: out, errors };
}

/** printf '%s\n' /sys/class/net/*\/brif/* -> bridge -> ports. */
export function parseBridgePorts(output: string): Parsed<Map<string, string[]>> {
  const listed = parseGlobList(output, '/sys/class/net/');
  const errors = listed.errors.map((e) => `bridge-ports: ${e}`);
  const out = new Map<string, string[]>();
  for (const path of listed.value) {
    const m = /^\/sys\/class\/net\/([^/]+)\/brif\/([^/]+)$/.exec(path);
    if (!m?.[1] || !m[2] || !IFACE.test(m[1]) || !IFACE.test(m[2])) {
      errors.push(`bridge-ports: unexpected entry ${excerpt(path)}`);
      continue;
    }
    out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return { value: out, errors };
}

/** grep -H . /sys/class/net/*\/bonding/slaves -> bond -> slaves. */
export function parseBondSlaves(output: string): Parsed<Map<string, string[]>> {
  const parsed = parseGrepValues(output, /\/sys\/class\/net\/[A-Za-z0-9_.:@+-]{1,31}\/bonding\/slaves/);
  const errors = parsed.errors.map((e) => `bond-slaves: ${e}`);
  const out = new Map<string, string[]>();
  for (const { path, value } of parsed.value) {
    const bond = path.split('/')[4] ?? '';
    const slaves = value.trim().split(/\s+/).filter((s) => s !== '');
    const bad = slaves.filter((s) => !IFACE.test(s));
    if (bad.length > 0) errors.push(`bond-slaves: ${bond} lists ${excerpt(bad.join(' '))}`);
    out.set(bond, slaves.filter((s) => IFACE.test(s)));
  }
  return { value: out, errors };
}

/** Lowercase, no brackets, no zone, IPv4-mapped IPv6 as IPv4. */
export function normalizeAddress(addr: string): string {
  let a = addr.trim().toLowerCase().replace(/^\[|\]$/g, '');
  a = a.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped?.[1] ?? a;
}

export function isIpLiteral(addr: string): boolean {
  const a = normalizeAddress(addr);
  return /^\d{1,3}(?:\.\d{1,3}){3}$/.test(a) || (/^[0-9a-f:.]+$/.test(a) && a.includes(':'));
}

export interface IpAddrs {
  /** iface -> addresses (normalised, no prefix length). */
  readonly addresses: ReadonlyMap<string, readonly string[]>;
  /** iface -> VLAN parent, from `name@parent`. */
  readonly parents: ReadonlyMap<string, string>;
}

const ADDR_LINE = /^\d+:\s+([^\s@]+)(?:@(\S+))?\s+inet6?\s+([0-9A-Fa-f.:]+)(?:\/\d+)?(?:\s|$)/;

export function parseIpAddr(output: string): Parsed<IpAddrs> {
  const addresses = new Map<string, string[]>();
  const parents = new Map<string, string>();
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line.trim() === '') continue;
    const m = ADDR_LINE.exec(line);
    if (!m?.[1] || !m[3] || !IFACE.test(m[1])) {
      errors.push(`ip-addr: unexpected line ${excerpt(line)}`);
      continue;
    }
    if (m[2] && IFACE.test(m[2])) parents.set(m[1], m[2]);
    const list = addresses.get(m[1]) ?? [];
    list.push(normalizeAddress(m[3]));
    addresses.set(m[1], list);
  }
  return { value: { addresses, parents }, errors };
}

/** `ip -o route show default` -> interfaces named by `dev X` (multipath routes name several). */
export function parseDefaultRoutes(output: string): Parsed<string[]> {
  const ifaces: string[] = [];
  const errors: string[] = [];
  for (const line of splitLines(output)) {
    if (line.trim() === '') continue;
    if (!/^default\b/.test(line) && !/^\s*nexthop\b/.test(line)) {
      errors.push(`ip-route: unexpected line ${excerpt(line)}`);
      continue;
    }
    for (const m of line.matchAll(/\bdev\s+(\S+)/g)) if (m[1] && IFACE.test(m[1])) ifaces.push(m[1]);
  }
  return { value: [...new Set(ifaces)], errors };
}

export interface CorosyncNode {
  readonly name: string | null;
  /** ringN_addr values as written (IPs or host names). */
  readonly rings: readonly string[];
}

/** The `nodelist { node { name: …; ringN_addr: … } }` entries of corosync.conf. */
export function parseCorosyncNodes(content: string): CorosyncNode[] {
  const nodes: CorosyncNode[] = [];
  const stack: string[] = [];
  let current: { name: string | null; rings: string[] } | null = null;
  for (const raw of splitLines(content)) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const open = /^([A-Za-z0-9_]+)\s*\{$/.exec(line);
    if (open?.[1]) {
      stack.push(open[1]);
      if (open[1] === 'node' && stack.at(-2) === 'nodelist') current = { name: null, rings: [] };
      continue;
    }
    if (line === '}') {
      if (stack.pop() === 'node' && current) {
        nodes.push(current);
        current = null;
      }
      continue;
    }
    const kv = /^([A-Za-z0-9_]+)\s*:\s*(\S+)$/.exec(line);
    if (!current || !kv?.[1] || !kv[2]) continue;
    if (kv[1] === 'name') current.name = kv[2];
    else if (/^ring\d+_addr$/.test(kv[1])) current.rings.push(kv[2]);
  }
  return nodes;
}

export interface NetTopology {
  readonly ifacePci: ReadonlyMap<string, string | null>;
  readonly bridgePorts: ReadonlyMap<string, readonly string[]>;
  readonly bondSlaves: ReadonlyMap<string, readonly string[]>;
  readonly vlanParents: ReadonlyMap<string, string>;
}

export interface PciNic {
  readonly bdf: string;
  /** The PCI-backed interface. */
  readonly iface: string;
  /** From the starting interface down to `iface`, e.g. ["vmbr0", "bond0", "eno1"]. */
  readonly chain: readonly string[];
}

function vlanParent(topo: NetTopology, iface: string): string | null {
  const explicit = topo.vlanParents.get(iface);
  if (explicit) return explicit;
  const dot = iface.lastIndexOf('.');
  if (dot > 0 && /^\d+$/.test(iface.slice(dot + 1))) {
    const parent = iface.slice(0, dot);
    if (topo.ifacePci.has(parent)) return parent;
  }
  return null;
}

/** Every PCI NIC under `iface`, through bridges, bonds and VLAN parents (cycles are cut). */
export function walkToPci(topo: NetTopology, iface: string, chain: readonly string[] = []): PciNic[] {
  if (chain.includes(iface) || chain.length > 16) return [];
  const here = [...chain, iface];
  const out: PciNic[] = [];
  for (const port of topo.bridgePorts.get(iface) ?? []) out.push(...walkToPci(topo, port, here));
  for (const slave of topo.bondSlaves.get(iface) ?? []) out.push(...walkToPci(topo, slave, here));
  const bdf = topo.ifacePci.get(iface);
  if (bdf) out.push({ bdf, iface, chain: here });
  const parent = vlanParent(topo, iface);
  if (parent) out.push(...walkToPci(topo, parent, here));
  return out;
}
