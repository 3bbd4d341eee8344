/**
 * Read-only system tools of the dialect (uname, hostname, pveversion, lspci, dmesg,
 * systemctl, ip, lsblk, pvecm) plus `modprobe vfio-pci`, printing what the
 * real tools print for the simulated boot (the kernel's drivers/iommu/ messages,
 * pciutils lspci(8), pve-docs pvecm.adoc).
 */
import { DialectError } from '../dialect.js';
import type { SimHost } from '../host.js';
import type { Handler } from '../interpreter.js';
import { presentIfaces } from '../sysfs.js';

function form(name: string, args: readonly string[]): DialectError {
  return new DialectError(`form: ${[name, ...args].join(' ').slice(0, 120)}`);
}

function same(args: readonly string[], expected: readonly string[]): boolean {
  return args.length === expected.length && args.every((a, i) => a === expected[i]);
}

export function systemCommands(host: SimHost): Map<string, Handler> {
  const m = new Map<string, Handler>();

  m.set('uname', (args, ctx) => {
    if (!same(args, ['-r'])) throw form('uname', args);
    ctx.out(`${host.booted.kernel}\n`);
    return 0;
  });

  // `hostname`: the kernel's host name (set from /etc/hostname at boot); PVE's node name is its first label.
  m.set('hostname', (args, ctx) => {
    if (args.length > 0) throw form('hostname', args);
    ctx.out(`${host.profile.hostname}\n`);
    return 0;
  });

  m.set('pveversion', (args, ctx) => {
    if (!host.isPve) return ctx.notFound();
    if (args.length > 0) throw form('pveversion', args);
    ctx.out(`${host.profile.pveVersion} (running kernel: ${host.booted.kernel})\n`);
    return 0;
  });

  // `date +%s`: the host's clock (the cluster's, on a node with /etc/pve shared).
  m.set('date', (args, ctx) => {
    if (!same(args, ['+%s'])) throw form('date', args);
    ctx.out(`${host.nowSeconds()}\n`);
    return 0;
  });

  m.set('lspci', (args, ctx) => {
    if (!same(args, ['-nnk', '-D'])) throw form('lspci', args);
    ctx.out(renderLspci(host));
    return 0;
  });

  m.set('dmesg', (args, ctx) => {
    if (args.length > 0) throw form('dmesg', args);
    if (ctx.uid !== 0) {
      ctx.err('dmesg: read kernel buffer failed: Operation not permitted\n');
      return 1;
    }
    ctx.out(host.booted.dmesg.map((l) => `[${l.t.toFixed(6).padStart(12)}] ${l.text}\n`).join(''));
    return 0;
  });

  m.set('systemctl', (args, ctx) => {
    const failed = host.booted.failedUnits;
    if (same(args, ['--failed', '--plain', '--no-legend'])) {
      for (const u of failed) ctx.out(`${u} loaded failed failed ${UNIT_DESCRIPTIONS[u] ?? u}\n`);
      return 0;
    }
    if (same(args, ['is-system-running'])) {
      ctx.out(failed.length > 0 ? 'degraded\n' : 'running\n');
      return failed.length > 0 ? 1 : 0;
    }
    if (same(args, ['is-active', 'pve-guests.service'])) {
      // systemctl(1): is-active prints the state and exits 0 only for "active".
      const state = host.isPve ? host.guestsService.state : 'inactive';
      ctx.out(`${state}\n`);
      return state === 'active' ? 0 : 3;
    }
    if (same(args, ['reboot'])) {
      if (ctx.uid !== 0) {
        ctx.err('Call to Reboot failed: Interactive authentication required.\n');
        return 1;
      }
      ctx.requestReboot();
      return 0;
    }
    throw form('systemctl', args);
  });

  m.set('ip', (args, ctx) => {
    if (same(args, ['-o', 'addr', 'show'])) {
      ctx.out(renderIpAddr(host));
      return 0;
    }
    if (same(args, ['-o', 'route', 'show', 'default'])) {
      const r = host.profile.net.defaultRoute;
      if (presentIfaces(host.profile, host.booted).has(r.dev)) ctx.out(`default via ${r.via} dev ${r.dev} proto kernel onlink \n`);
      return 0;
    }
    throw form('ip', args);
  });

  m.set('lsblk', (args, ctx) => {
    if (!same(args, ['-n', '-P', '-o', 'NAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT'])) throw form('lsblk', args);
    for (const r of host.profile.block.rows) {
      ctx.out(`NAME="${r.name}" PKNAME="${r.pkname}" TYPE="${r.type}" FSTYPE="${r.fstype}" MOUNTPOINT="${r.mountpoint}"\n`);
    }
    return 0;
  });

  m.set('pvecm', (args, ctx) => {
    if (!host.isPve) return ctx.notFound();
    if (!same(args, ['status'])) throw form('pvecm', args);
    const conf = host.vfs.readOr('/etc/pve/corosync.conf');
    if (conf === null) {
      ctx.err("Error: Corosync config '/etc/pve/corosync.conf' does not exist - is this node part of a cluster?\n");
      return 2;
    }
    ctx.out(renderPvecmStatus(conf, host.profile.hostname, host.clusterVotesOnline));
    return 0;
  });

  // ha-manager crm-command node-maintenance enable|disable NODE (PVE >= 7.3, pve-docs ha-manager.adoc): queued for the CRM.
  m.set('ha-manager', (args, ctx) => {
    if (!host.isPve) return ctx.notFound();
    if (args.length !== 4 || args[0] !== 'crm-command' || args[1] !== 'node-maintenance' || (args[2] !== 'enable' && args[2] !== 'disable')) throw form('ha-manager', args);
    const [major, minor] = (/^pve-manager\/(\d+)\.(\d+)/.exec(host.profile.pveVersion ?? '') ?? []).slice(1).map(Number);
    if (major === undefined || minor === undefined || major < 7 || (major === 7 && minor < 3)) {
      ctx.err("ERROR: unknown command 'ha-manager crm-command node-maintenance'\n");
      return 255;
    }
    if (ctx.uid !== 0) {
      ctx.err('ha-manager: permission denied - invalid user\n');
      return 255;
    }
    host.haMaintenance?.(args[3]!, args[2] === 'enable');
    return 0;
  });

  m.set('modprobe', (args, ctx) => {
    if (!same(args, ['vfio-pci'])) throw form('modprobe', args);
    if (ctx.uid !== 0) {
      ctx.err("modprobe: ERROR: could not insert 'vfio_pci': Operation not permitted\n");
      return 1;
    }
    host.loadVfioPci();
    return 0;
  });

  return m;
}

const UNIT_DESCRIPTIONS: Record<string, string> = {
  'systemd-modules-load.service': 'Load Kernel Modules',
};

export function renderLspci(host: SimHost): string {
  const devices = [...host.profile.pci].sort((a, b) => (a.address < b.address ? -1 : 1));
  let out = '';
  for (const d of devices) {
    out += `${d.address} ${d.className} [${d.classCode}]: ${d.vendor} ${d.device} [${d.id}]${d.rev ? ` (rev ${d.rev})` : ''}\n`;
    if (d.subsystem) out += `\tSubsystem: ${d.subsystem.name} [${d.subsystem.id}]\n`;
    const drv = host.booted.drivers.get(d.address);
    if (drv) out += `\tKernel driver in use: ${drv}\n`;
    if (d.modules.length > 0) out += `\tKernel modules: ${d.modules.join(', ')}\n`;
  }
  return out;
}

function linkLocal(mac: string): string {
  const b = mac.split(':').map((x) => Number.parseInt(x, 16));
  const eui = [(b[0]! ^ 0x02), b[1]!, b[2]!, 0xff, 0xfe, b[3]!, b[4]!, b[5]!];
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((eui[i]! << 8) | eui[i + 1]!).toString(16));
  return `fe80::${groups.join(':')}/64`;
}

export function renderIpAddr(host: SimHost): string {
  const present = presentIfaces(host.profile, host.booted);
  let out = '';
  host.profile.net.ifaces.forEach((i, idx) => {
    if (!present.has(i.name)) return;
    const n = idx + 1;
    const pad = `${n}: ${i.name}    `;
    const tail = '\\       valid_lft forever preferred_lft forever';
    for (const a of i.addrs) {
      const scope = i.kind === 'loopback' ? 'host' : 'global';
      out += `${pad}inet ${a} scope ${scope} ${i.kind === 'loopback' ? 'lo' : i.name}${tail}\n`;
    }
    if (i.kind === 'loopback') out += `${pad}inet6 ::1/128 scope host noprefixroute ${tail}\n`;
    else if (i.addrs.length > 0) out += `${pad}inet6 ${linkLocal(i.mac)} scope link ${tail}\n`;
  });
  return out;
}

interface CorosyncNode {
  name: string;
  nodeid: number;
  votes: number;
}

export function parseCorosync(conf: string): { clusterName: string; configVersion: string; nodes: CorosyncNode[] } {
  const clusterName = /cluster_name:\s*(\S+)/.exec(conf)?.[1] ?? 'cluster';
  const configVersion = /config_version:\s*(\d+)/.exec(conf)?.[1] ?? '1';
  const nodes: CorosyncNode[] = [];
  for (const block of conf.matchAll(/node\s*\{([^}]*)\}/g)) {
    const body = block[1]!;
    nodes.push({
      name: /name:\s*(\S+)/.exec(body)?.[1] ?? '?',
      nodeid: Number(/nodeid:\s*(\d+)/.exec(body)?.[1] ?? 0),
      votes: Number(/quorum_votes:\s*(\d+)/.exec(body)?.[1] ?? 1),
    });
  }
  return { clusterName, configVersion, nodes };
}

function cDate(d: Date): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const t = [d.getHours(), d.getMinutes(), d.getSeconds()].map((x) => String(x).padStart(2, '0')).join(':');
  return `${days[d.getDay()]} ${months[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${t} ${d.getFullYear()}`;
}

export function renderPvecmStatus(conf: string, hostname: string, votesOnline: number | null, now = new Date()): string {
  const c = parseCorosync(conf);
  const expected = c.nodes.reduce((s, n) => s + n.votes, 0);
  const total = votesOnline ?? expected;
  const quorum = Math.floor(expected / 2) + 1;
  const quorate = total >= quorum;
  const me = c.nodes.find((n) => n.name === hostname);
  const pad = (k: string): string => `${k}:`.padEnd(18);
  return [
    'Cluster information',
    '-------------------',
    `${pad('Name')}${c.clusterName}`,
    `${pad('Config Version')}${c.configVersion}`,
    `${pad('Transport')}knet`,
    `${pad('Secure auth')}on`,
    '',
    'Quorum information',
    '------------------',
    `${pad('Date')}${cDate(now)}`,
    `${pad('Quorum provider')}corosync_votequorum`,
    `${pad('Nodes')}${c.nodes.length}`,
    `${pad('Node ID')}0x${(me?.nodeid ?? 1).toString(16).padStart(8, '0')}`,
    `${pad('Ring ID')}1.2f`,
    `${pad('Quorate')}${quorate ? 'Yes' : 'No'}`,
    '',
    'Votequorum information',
    '----------------------',
    `${pad('Expected votes')}${expected}`,
    `${pad('Highest expected')}${expected}`,
    `${pad('Total votes')}${total}`,
    `${pad('Quorum')}${quorum}${quorate ? '' : ' Activity blocked'}`,
    `${pad('Flags')}${quorate ? 'Quorate' : ''}`,
    '',
  ].join('\n');
}
