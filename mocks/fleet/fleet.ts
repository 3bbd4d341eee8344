/**
 * A simulated fleet: every node a real SSH server on 127.0.0.1 (mocks/hosts),
 * every cluster a real HTTPS API (mocks/api), wired so that the API's view of
 * the hardware and of node liveness comes from the simulated hosts. It writes
 * an inventory the tool can use as is: absolute paths, a client key, pinned
 * host keys and TLS fingerprints, and a 0600 secrets file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createSimApi, startSimApiServer, type SimApi, type SimApiServer, type SimFaultSpec } from '../api/index.js';
import type { SimPciDevice, SimRequestLogEntry } from '../api/types.js';
import { generateClientKey, startSimHost, type RunningSimHost } from '../hosts/index.js';
import type { SimHost } from '../hosts/host.js';
import type { ProfileOverrides } from '../hosts/profile-types.js';
import type { Scenario, ScenarioCluster } from './scenario.js';
import { Pmxcfs } from '../hosts/pmxcfs.js';

export interface FleetOptions {
  readonly scenario: Scenario;
  /** Folder for the inventory, the client key and the secrets (created 0700). */
  readonly dir: string;
  readonly inventoryFile?: string;
  readonly requestLog?: (entry: SimRequestLogEntry) => void;
  /** Default reboot downtime of every host (ms). */
  readonly rebootDelayMs?: number;
  /** How long API tasks stay running (ms). */
  readonly taskMs?: number;
}

export interface SimCluster {
  readonly name: string;
  readonly spec: ScenarioCluster;
  readonly api: SimApi | null;
  readonly server: SimApiServer | null;
  readonly hosts: ReadonlyMap<string, RunningSimHost>;
  /** /etc/pve, one file system shared by every PVE node of the cluster (null: standalone). */
  readonly pmxcfs: Pmxcfs | null;
}

export interface Fleet {
  readonly scenario: Scenario;
  readonly inventoryPath: string;
  readonly inventory: Record<string, unknown>;
  readonly clusters: readonly SimCluster[];
  /** Every secret the inventory's files hold (for tests that scan outputs). */
  readonly secrets: readonly string[];
  host(node: string): RunningSimHost;
  cluster(name: string): SimCluster;
  /** Move every host's clock (and every cluster file system's) forward: leases and pmxcfs locks age. */
  advanceClock(ms: number): void;
  close(): Promise<void>;
}

/** What GET /nodes/{node}/hardware/pci shows for a simulated host right now. */
export function hardwareOf(host: SimHost): SimPciDevice[] {
  const iommu = host.booted.iommuActive;
  return host.profile.pci.map((d) => {
    const [vendor, device] = d.id.split(':');
    const [sv, sd] = d.subsystem ? d.subsystem.id.split(':') : [];
    return {
      id: d.address,
      class: `0x${d.classCode}00`,
      vendor: `0x${vendor}`,
      device: `0x${device}`,
      ...(sv && sd ? { subsystem_vendor: `0x${sv}`, subsystem_device: `0x${sd}`, subsystem_vendor_name: d.subsystem!.name.split(' ')[0], subsystem_device_name: d.subsystem!.name } : {}),
      iommugroup: iommu && d.iommuGroup !== null ? d.iommuGroup : -1,
      vendor_name: d.vendor,
      device_name: d.device,
    };
  });
}

function mgmtIp(host: RunningSimHost): string {
  for (const i of host.state.profile.net.ifaces) if (i.kind !== 'loopback' && i.addrs[0]) return i.addrs[0].replace(/\/\d+$/, '');
  return '127.0.0.1';
}

/** A secret in its own 0600 file, as the inventory's `{ "file": … }` references expect. */
async function secretFile(path: string, value: string): Promise<string> {
  await writeFile(path, `${value}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return path;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const dir = resolve(o.dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const secretsDir = join(dir, 'sim-secrets');
  await mkdir(secretsDir, { recursive: true, mode: 0o700 });
  const keyPassphrase = o.scenario.encryptedClientKey ? randomBytes(12).toString('base64url') : undefined;
  const key = generateClientKey('pve-passthrough-sim', keyPassphrase);
  const keyPath = join(dir, 'sim-id_ed25519');
  await writeFile(keyPath, key.privateKey, { mode: 0o600 });
  await chmod(keyPath, 0o600);
  const passphraseRef = keyPassphrase === undefined ? undefined : { file: await secretFile(join(secretsDir, 'ssh-key-passphrase'), keyPassphrase) };

  const clusters: SimCluster[] = [];
  const secrets: string[] = keyPassphrase === undefined ? [] : [keyPassphrase];
  const started: RunningSimHost[] = [];
  const servers: SimApiServer[] = [];
  const apis: SimApi[] = [];
  const timers: NodeJS.Timeout[] = [];
  const close = async () => {
    for (const t of timers) clearInterval(t);
    for (const a of apis) a.close();
    await Promise.allSettled([...servers.map((s) => s.close()), ...started.map((h) => h.close())]);
  };

  try {
    const invClusters: Record<string, unknown>[] = [];
    for (const c of o.scenario.clusters) {
      const hosts = new Map<string, RunningSimHost>();
      for (const n of c.nodes) {
        const h = await startSimHost({
          name: n.name,
          profile: n.profile,
          overrides: { hostname: n.name, ...(n.overrides ?? {}) } as ProfileOverrides,
          authorizedKey: key.publicKey,
          user: n.user,
          sudo: n.user !== 'root',
          faults: n.faults,
          rebootDelayMs: n.rebootDelayMs ?? o.rebootDelayMs ?? 300,
        });
        started.push(h);
        hosts.set(n.name, h);
      }

      // A PVE cluster has ONE /etc/pve (pmxcfs): what one node writes there, every node sees.
      const pmxcfs = c.standalone ? null : new Pmxcfs();
      if (pmxcfs) for (const h of hosts.values()) if (h.state.isPve) h.state.mountPmxcfs(pmxcfs);

      let api: SimApi | null = null;
      let server: SimApiServer | null = null;
      let apiSection: Record<string, unknown> | undefined;
      if (c.api) {
        const password = randomBytes(12).toString('base64url');
        const tokenSecret = [8, 4, 4, 4, 12].map((n) => randomBytes(n / 2).toString('hex')).join('-');
        // A fixed code the simulated server always accepts (its RFC 6238 path is tested in mocks/api).
        const totpCode = c.totp ? String(randomBytes(4).readUInt32BE() % 1_000_000).padStart(6, '0') : undefined;
        secrets.push(password, tokenSecret, ...(totpCode ? [totpCode] : []));
        api = createSimApi({
          name: c.name,
          standalone: c.standalone,
          qdeviceVotes: c.qdeviceVotes,
          nodes: c.nodes.map((n, i) => {
            const h = hosts.get(n.name)!;
            return { name: n.name, ip: mgmtIp(h), nodeid: i + 1, online: () => !h.down, pci: () => hardwareOf(h.state), iommu: () => h.state.booted.iommuActive };
          }),
          vms: c.vms.map((v) => ({ vmid: v.vmid, node: v.node, name: v.name, status: v.status, config: v.config, ignoreAcpiShutdown: v.ignoreAcpiShutdown })),
          containers: c.containers,
          mappings: c.existingMappings,
          ha: c.ha,
          users: [{ userid: 'root@pam', password, ...(totpCode ? { totp: { code: totpCode } } : {}) }],
          tokens: [{ tokenid: 'automation@pve!passthrough', secret: tokenSecret, ...(c.tokenPrivs ? { privs: c.tokenPrivs } : {}) }],
        }, { taskMs: o.taskMs ?? 15 });
        apis.push(api);
        const st = api.state;
        if (pmxcfs) pmxcfs.quorate = () => st.quorum().quorate;
        for (const n of c.nodes) {
          const h = hosts.get(n.name)!.state;
          h.haMaintenance = (node, enable) => st.tasks.background(st.setMaintenance(node, enable));
          const started = api;
          h.guestsService.startGuests = () => started.startOnbootGuests(n.name);
        }
        if (c.apiFaults) api.faults.apply(c.apiFaults as SimFaultSpec);
        server = await startSimApiServer(api, { requestLog: o.requestLog });
        servers.push(server);
        // Guests follow their node: a reboot stops them (pve-guests.service starts the onboot ones, see SimHost).
        const wasDown = new Map<string, boolean>();
        const a = api;
        timers.push(setInterval(() => {
          for (const [name, h] of hosts) {
            const down = h.down;
            if (down !== (wasDown.get(name) ?? false)) {
              if (down) a.stopGuestsOnNode(name);
              wasDown.set(name, down);
            }
          }
        }, 25));
        const secretPath = await secretFile(join(secretsDir, `${c.name}-${c.auth === 'ticket' ? 'root-password' : 'token-secret'}`), c.auth === 'ticket' ? password : tokenSecret);
        const totpRef = totpCode ? { totp: { file: await secretFile(join(secretsDir, `${c.name}-root-totp`), totpCode) } } : {};
        apiSection = {
          url: server.url,
          tls: { fingerprint: server.fingerprint },
          auth: c.auth === 'ticket'
            ? { ticket: { username: 'root@pam', password: { file: secretPath }, ...totpRef } }
            : { token: { id: 'automation@pve!passthrough', secret: { file: secretPath } } },
          timeoutSeconds: 30,
        };
      }

      invClusters.push({
        name: c.name,
        ...(apiSection ? { api: apiSection } : {}),
        policy: { reboot: 'needed', guests: 'shutdown', rebootTimeoutSeconds: 60, ...c.policy },
        nodes: c.nodes.map((n) => {
          const h = hosts.get(n.name)!;
          return {
            name: n.name,
            // useSshConfig false: an operator's `Host *` settings (a ProxyJump, say) must not reroute the simulator.
            ssh: { host: '127.0.0.1', port: h.port, user: n.user, identityFile: keyPath, ...(passphraseRef ? { passphrase: passphraseRef } : {}), hostKey: { fingerprint: h.hostKeyFingerprint }, sudo: n.user !== 'root', useSshConfig: false },
            ...n.declare,
          };
        }),
        vms: c.vms.filter((v) => v.declare).map((v) => ({ vmid: v.vmid, node: v.node, ...v.declare })),
        mappings: c.mappings,
      });
      clusters.push({ name: c.name, spec: c, api, server, hosts, pmxcfs });
    }

    const inventory = { version: 1, clusters: invClusters };
    const inventoryPath = join(dir, o.inventoryFile ?? 'sim-inventory.json');
    await writeFile(inventoryPath, `${JSON.stringify(inventory, null, 2)}\n`, { mode: 0o600 });
    return {
      scenario: o.scenario,
      inventoryPath,
      inventory,
      clusters,
      secrets,
      host(node) {
        for (const c of clusters) {
          const h = c.hosts.get(node);
          if (h) return h;
        }
        throw new Error(`no simulated node ${node}`);
      },
      advanceClock(ms) {
        for (const c of clusters) {
          if (c.pmxcfs) c.pmxcfs.clockOffsetMs += ms;
          for (const h of c.hosts.values()) h.state.clockOffsetMs += ms;
        }
      },
      cluster(name) {
        const c = clusters.find((x) => x.name === name);
        if (!c) throw new Error(`no simulated cluster ${name}`);
        return c;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
