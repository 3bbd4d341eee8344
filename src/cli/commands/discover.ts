/** inventory discover: an inventory skeleton from the cluster itself, for the user to edit. */
import { InputError } from '../../errors.js';
import { SecretStore } from '../../inventory/secrets.js';
import { EXIT } from '../exit-codes.js';
import { emitReport, reportError, type GlobalFlags } from '../common.js';
import { askSecret } from '../prompt.js';
import { hostpciIndex, parseHostpci } from '../../formats/hostpci.js';
import type { GuestResource, PveClient } from '../../transport/pve/index.js';
import { escapeControl } from '../terminal-text.js';

/**
 * The VM's hostpciN entries as inventory entries, in index order, so the
 * skeleton declares what is configured today (a plan on it changes nothing).
 * An entry the inventory cannot express (several host ids joined by ";") is
 * left out with a warning rather than guessed.
 */
async function existingHostpci(client: PveClient, node: string, vmid: number): Promise<Record<string, unknown>[]> {
  const warn = (m: string) => process.stderr.write(`warning: VM ${vmid}: ${escapeControl(m)}\n`);
  let config: Record<string, unknown>;
  try {
    config = (await client.vmConfig(node, vmid)).config as Record<string, unknown>;
  } catch (err) {
    warn(`cannot read its config (${(err as Error).message}); "hostpci" left empty`);
    return [];
  }
  const keys = Object.keys(config).filter((k) => hostpciIndex(k) !== undefined).sort((a, b) => hostpciIndex(a)! - hostpciIndex(b)!);
  const out: Record<string, unknown>[] = [];
  for (const key of keys) {
    try {
      const { host, ...rest } = parseHostpci(String(config[key]));
      if (host && host.length > 1) {
        warn(`${key} joins several devices (${host.join(';')}), which an inventory entry cannot express; left out`);
        continue;
      }
      out.push(host ? { host: host[0], ...rest } : rest);
    } catch (err) {
      warn(`${key} is not understood (${(err as Error).message}); left out`);
    }
  }
  return out;
}

export interface DiscoverFlags extends GlobalFlags {
  api?: string;
  tokenId?: string;
  tokenSecretEnv?: string;
  username?: string;
  passwordEnv?: string;
  tlsFingerprint?: string;
  ca?: string;
  name?: string;
}

export async function discoverCommand(f: DiscoverFlags): Promise<number> {
  const secrets = new SecretStore(process.env, askSecret);
  try {
    if (!f.api) throw new InputError('inventory discover needs --api https://<node>:8006');
    const { PveClient } = await import('../../transport/pve/index.js');
    const { readFile } = await import('node:fs/promises');
    const secretRef = { env: f.tokenId ? f.tokenSecretEnv ?? 'PVE_TOKEN_SECRET' : f.passwordEnv ?? 'PVE_PASSWORD', prompt: true };
    const auth = f.tokenId
      ? { token: { id: f.tokenId, secret: await secrets.resolve(secretRef, 'API token secret') } }
      : { ticket: { username: f.username ?? 'root@pam', password: await secrets.resolve(secretRef, `password for ${f.username ?? 'root@pam'}`) } };
    const tls = f.tlsFingerprint ? { fingerprint: f.tlsFingerprint } : f.ca ? { ca: await readFile(f.ca, 'utf8') } : { system: true as const };
    const client = new PveClient({ baseUrl: f.api, tls, auth, timeoutMs: 30_000 });
    try {
      const [status, resources] = await Promise.all([client.clusterStatus(), client.guests()]);
      const clusterItem = status.find((s): s is Extract<typeof s, { type: 'cluster' }> => s.type === 'cluster');
      const nodes = status.filter((s): s is Extract<typeof s, { type: 'node' }> => s.type === 'node').sort((a, b) => String(a.name).localeCompare(String(b.name)));
      const guests = resources.filter((r) => r.type === 'qemu' && !r.template).sort((a, b) => a.vmid - b.vmid);
      const vms = [];
      for (const r of guests) vms.push({ vmid: r.vmid, node: r.node, hostpci: await existingHostpci(client, r.node, r.vmid) });
      const inventory = {
        version: 1,
        clusters: [{
          name: f.name ?? clusterItem?.name ?? 'cluster',
          api: {
            url: f.api,
            tls: f.tlsFingerprint ? { fingerprint: f.tlsFingerprint } : f.ca ? { ca: f.ca } : { system: true },
            auth: f.tokenId ? { token: { id: f.tokenId, secret: { env: secretRef.env } } } : { ticket: { username: f.username ?? 'root@pam', password: { env: secretRef.env } } },
          },
          policy: { maxUnavailable: 1, reboot: 'needed', guests: 'refuse' },
          nodes: nodes.map((n) => ({ name: n.name, ssh: { host: n.ip ?? n.name, user: 'root', hostKey: { knownHosts: '~/.ssh/known_hosts' } }, devices: [] })),
          vms,
        }],
      };
      await emitReport(`${JSON.stringify(inventory, null, 2)}\n`, f, secrets);
      process.stderr.write('Edit the skeleton: add "devices" per node (see `pve-passthrough devices`); each VM lists the hostpci entries it has today.\n');
      return EXIT.ok;
    } finally {
      await client.close();
    }
  } catch (err) {
    return reportError(err, f, secrets);
  }
}
