/**
 * The single-node fix from a laptop: an inventory built from flags and a
 * stored profile, validated by the same schema as a file.
 *   --host root@pve1[:22] --api https://pve1:8006 --device 0000:01:00.0 --vm 100 --profile lab
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
  readonly kernelParams?: readonly string[];
  readonly iommuPassthrough?: boolean;
  readonly profile?: Profile;
}

export function inventoryFromFlags(f: FlagInventory): Inventory {
  const m = /^(?:([a-z_][a-z0-9_-]*)@)?([^@:\s]+|\[[0-9a-fA-F:.]+\])(?::(\d+))?$/.exec(f.host);
  if (!m) throw new InputError(`--host "${f.host}" is not of the form [user@]host[:port]`, [], { fix: 'e.g. --host root@pve1 or --host admin@10.0.0.11:2222' });
  const p = f.profile ?? {};
  // Unset user/port/host key are left for ssh_config (then root, 22, ~/.ssh/known_hosts) to fill.
  const user = m[1] ?? p.sshUser;
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : p.sshPort;
  const nodeName = f.nodeName ?? host.split('.')[0]!;
  const apiUrl = f.api ?? p.api;
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
              ...(p.identityFile ? { identityFile: p.identityFile } : {}),
              ...(p.agent !== undefined ? { agent: p.agent } : {}),
              ...(p.hostKey ? { hostKey: { fingerprint: p.hostKey } } : p.knownHosts ? { hostKey: { knownHosts: p.knownHosts } } : {}),
              sudo: p.sudo ?? (user !== undefined && user !== 'root'),
            },
            devices: f.devices.map((address) => ({ address })),
            kernelParams: f.kernelParams ?? [],
            iommuPassthrough: f.iommuPassthrough ?? false,
          },
        ],
        vms: f.vms.map((vmid) => ({
          vmid,
          node: nodeName,
          hostpci: f.devices.map((address) => ({ host: address.replace(/\.[0-7]$/, ''), pcie: true })),
        })),
      },
    ],
  };
  return validateInventory(raw, '<flags>');
}
