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
  const user = m[1] ?? p.sshUser ?? 'root';
  const host = m[2]!.replace(/^\[|\]$/g, '');
  const port = m[3] ? Number(m[3]) : p.sshPort ?? 22;
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
              port,
              user,
              ...(p.identityFile ? { identityFile: p.identityFile } : {}),
              agent: p.agent ?? (!p.identityFile && Boolean(process.env.SSH_AUTH_SOCK)),
              hostKey: p.hostKey ? { fingerprint: p.hostKey } : { knownHosts: p.knownHosts ?? '~/.ssh/known_hosts' },
              sudo: p.sudo ?? user !== 'root',
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
