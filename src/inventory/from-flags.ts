/**
 * The single-node fix from a laptop: an inventory built from flags and a
 * stored profile, validated by the same schema as a file.
 *   --host root@pve1[:22] --api https://pve1:8006 --device 0000:01:00.0 --vm 100 --profile lab
 *   [--identity FILE] [--kernel-param P]... [--iommu-pt] [--x-vga] [--exact]
 * Flags mode only adds (exact: false on the node and VMs, resolved against the
 * host's and VM's current state by the planners) unless --exact.
 */
import { InputError } from '../errors.js';
import type { Profile } from './profiles.js';
import { validateInventory } from './load.js';
import type { Inventory } from './schema.js';

export interface FlagInventory {
  readonly host: string;
  readonly api?: string;
  readonly devices: readonly string[];
  readonly vms: readonly number[];
  readonly nodeName?: string;
  /** Why the host's `hostname` could not be read (engine/node-name.ts), for the refusal of an IP --host. */
  readonly hostnameProblem?: string;
  readonly kernelParams?: readonly string[];
  readonly iommuPassthrough?: boolean;
  /** --x-vga: the VMs get the devices as their primary GPU (hostpci x-vga=1). */
  readonly xVga?: boolean;
  /**
   * --exact: the flags are the whole declaration (what they leave out is removed).
   * Without it the node and VMs are declared with exact: false: flags mode only adds.
   */
  readonly exact?: boolean;
  /** --identity: the SSH private key; wins over the profile's. */
  readonly identityFile?: string;
  readonly profile?: Profile;
}

/**
 * `01:00.0` is what lspci prints without -D: it means domain 0000, as lspci
 * and PVE's hostpci do. Anything else is left for the schema to judge.
 */
export function fullPciAddress(address: string): string {
  const a = address.trim().toLowerCase();
  return /^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/.test(a) ? `0000:${a}` : a;
}

export function isIpAddress(host: string): boolean {
  return /^\d+(?:\.\d+){3}$/.test(host) || host.includes(':');
}

export function inventoryFromFlags(f: FlagInventory): Inventory {
  const m = /^(?:([a-z_][a-z0-9_-]*)@)?([^@:\s]+|\[[0-9a-fA-F:.]+\])(?::(\d+))?$/.exec(f.host);
  if (!m) throw new InputError(`--host "${f.host}" is not of the form [user@]host[:port]`, [], { fix: 'e.g. --host root@pve1 or --host admin@10.0.0.11:2222' });
  const p = f.profile ?? {};
  // Unset user/port/host key are left for ssh_config (then root, 22, ~/.ssh/known_hosts) to fill.
  const user = m[1] ?? p.sshUser;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : p.sshPort;
  // The session names the node from its `hostname` first; when that cannot be read, an address says
  // nothing about the node's name (`127.0.0.1` is not node "127"): ask for it rather than guess.
  if (f.nodeName === undefined && isIpAddress(host)) {
    throw new InputError(`--host ${host} is an IP address and the node's hostname could not be read${f.hostnameProblem ? ` (${f.hostnameProblem})` : ''}, so the PVE node name is not known`, [], { fix: 'add --node-name NAME (the name `hostname` prints on that node, as in the PVE web UI)' });
  }
  const nodeName = f.nodeName ?? host.split('.')[0]!;
  const apiUrl = f.api ?? p.api;
  const devices = f.devices.map(fullPciAddress);
  const exact = f.exact === true;
  if (f.vms.length > 0 && !apiUrl) throw new InputError('--vm needs the cluster API', [], { fix: 'add --api https://<node>:8006 or a profile with "api"' });
  const raw = {
    version: 1,
    clusters: [
      {
        name: 'cli',
        ...(apiUrl
          ? {
              api: {
                url: apiUrl,
                tls: p.tlsFingerprint ? { fingerprint: p.tlsFingerprint } : p.ca ? { ca: p.ca } : { system: true },
                auth: p.tokenId
                  ? { token: { id: p.tokenId, secret: { env: p.tokenSecretEnv ?? 'PVE_TOKEN_SECRET', prompt: true } } }
                  : { ticket: { username: p.username ?? 'root@pam', password: { env: p.passwordEnv ?? 'PVE_PASSWORD', prompt: true } } },
              },
            }
          : {}),
        policy: { reboot: 'needed' },
        nodes: [
          {
            name: nodeName,
            ssh: {
              host,
              ...(port !== undefined ? { port } : {}),
              ...(user !== undefined ? { user } : {}),
              ...(f.identityFile ?? p.identityFile ? { identityFile: f.identityFile ?? p.identityFile } : {}),
              ...(p.agent !== undefined ? { agent: p.agent } : {}),
              ...(p.hostKey ? { hostKey: { fingerprint: p.hostKey } } : p.knownHosts ? { hostKey: { knownHosts: p.knownHosts } } : {}),
              sudo: p.sudo ?? (user !== undefined && user !== 'root'),
            },
            devices: devices.map((address) => ({ address })),
            kernelParams: f.kernelParams ?? [],
            iommuPassthrough: f.iommuPassthrough ?? false,
            exact,
          },
        ],
        vms: f.vms.map((vmid) => ({
          vmid,
          node: nodeName,
          // Only --exact says pcie=1 itself; otherwise a new entry gets it when the VM is q35 (operations/vm/keep-current.ts).
          hostpci: devices.map((address) => ({ host: address.replace(/\.[0-7]$/, ''), ...(exact ? { pcie: true } : {}), ...(f.xVga ? { 'x-vga': true } : {}) })),
          exact,
        })),
      },
    ],
  };
  return validateInventory(raw, '<flags>');
}
