/**
 * A small three-node cluster for the simulator's tests, and an undici client
 * that talks to the sim's HTTPS server trusting only its certificate.
 */
import { Agent, fetch as undiciFetch } from 'undici';
import { createSimApi, startSimApiServer, type SimApi, type SimApiServer, type SimRequestLogEntry } from '../../../mocks/api/index.js';
import type { SimClusterSpec, SimPciDevice } from '../../../mocks/api/types.js';

export const TOKEN = { id: 'svc@pve!deploy', secret: '4b1f0c3e-2a51-4d7e-9c55-0d6f8e2a7b10' };
export const ROOT_TOKEN = { id: 'root@pam!auto', secret: 'c0ffee00-1111-2222-3333-444455556666' };
export const ROOT_PASSWORD = 'r00t-pass;word&x';
/** RFC 6238 test secret ("12345678901234567890"). */
export const TOTP_SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';

const gpu = (bus: string, group: number): SimPciDevice[] => [
  {
    id: `0000:${bus}:00.0`, class: '0x030000', vendor: '0x10de', device: '0x2204', subsystem_vendor: '0x1043',
    subsystem_device: '0x87b3', iommugroup: group, vendor_name: 'NVIDIA Corporation', device_name: 'GA102 [GeForce RTX 3090]',
  },
  {
    id: `0000:${bus}:00.1`, class: '0x040300', vendor: '0x10de', device: '0x1aef', subsystem_vendor: '0x1043',
    subsystem_device: '0x87b3', iommugroup: group, vendor_name: 'NVIDIA Corporation', device_name: 'GA102 High Definition Audio Controller',
  },
];

export const PVE1_PCI: SimPciDevice[] = [
  { id: '0000:00:00.0', class: '0x060000', vendor: '0x8086', device: '0x3e30', iommugroup: 0, device_name: 'Host Bridge' },
  { id: '0000:00:01.0', class: '0x060400', vendor: '0x8086', device: '0x1901', iommugroup: 1, device_name: 'PCIe Root Port' },
  { id: '0000:00:14.2', class: '0x050000', vendor: '0x8086', device: '0xa36f', iommugroup: 5, device_name: 'Shared SRAM' },
  { id: '0000:00:1f.4', class: '0x0c0500', vendor: '0x8086', device: '0xa323', iommugroup: 9, device_name: 'SMBus' },
  ...gpu('01', 14),
  { id: '0000:02:00.0', class: '0x020000', vendor: '0x8086', device: '0x1533', iommugroup: 15, device_name: 'I210 Gigabit' },
];

export interface Hardware {
  pve1: SimPciDevice[];
  pve2: SimPciDevice[];
  online: Record<string, boolean>;
}

export function clusterSpec(hw: Hardware): SimClusterSpec {
  return {
    name: 'lab',
    nodes: [
      { name: 'pve1', ip: '10.0.0.11', pci: () => hw.pve1, online: () => hw.online.pve1 ?? true },
      { name: 'pve2', ip: '10.0.0.12', pci: () => hw.pve2, online: () => hw.online.pve2 ?? true },
      { name: 'pve3', ip: '10.0.0.13', online: () => hw.online.pve3 ?? true },
    ],
    vms: [
      { vmid: 101, node: 'pve1', name: 'gpu-vm', config: { ostype: 'l26', memory: '8192', cores: '4', scsi0: 'local-lvm:vm-101-disk-0,size=32G', net0: 'virtio=BC:24:11:00:00:01,bridge=vmbr0' } },
      { vmid: 102, node: 'pve1', name: 'holder', status: 'running', config: { machine: 'q35', hostpci0: '0000:01:00,pcie=1' } },
      { vmid: 103, node: 'pve2', name: 'busy', status: 'running', config: { machine: 'pc-i440fx-8.1', ostype: 'win11' } },
      { vmid: 104, node: 'pve2', name: 'deaf', status: 'running', ignoreAcpiShutdown: true },
      { vmid: 105, node: 'pve2', name: 'ha-vm', status: 'stopped' },
    ],
    containers: [{ vmid: 200, node: 'pve3', name: 'dns', status: 'running' }],
    mappings: [{
      id: 'gpu-a', description: 'RTX 3090',
      map: ['node=pve1,path=0000:01:00,id=10de:2204,subsystem-id=1043:87b3,iommugroup=14'],
    }],
    users: [
      { userid: 'root@pam', password: ROOT_PASSWORD },
      { userid: 'ops@pve', password: 'ops-pass', totp: { code: '424242' }, privs: ['VM.Audit'] },
      { userid: 'sec@pam', password: 'sec-pass', totp: { secret: TOTP_SECRET } },
    ],
    tokens: [
      { tokenid: TOKEN.id, secret: TOKEN.secret },
      { tokenid: ROOT_TOKEN.id, secret: ROOT_TOKEN.secret },
      { tokenid: 'audit@pve!ro', secret: 'ro-secret', privs: ['VM.Audit'] },
    ],
    ha: [{ sid: 'vm:105', state: 'stopped' }],
  };
}

export function freshHardware(): Hardware {
  return { pve1: PVE1_PCI.map((d) => ({ ...d })), pve2: gpu('41', 30), online: {} };
}

export interface Reply {
  status: number;
  statusText: string;
  body: { data: unknown; message?: string; errors?: Record<string, string>; total?: number };
  text: string;
}

export interface CallOptions {
  token?: { id: string; secret: string };
  ticket?: { ticket: string; csrf?: string; asHeader?: boolean };
  form?: Record<string, string | string[]>;
  rawBody?: string;
  json?: unknown;
  query?: Record<string, string>;
  signal?: AbortSignal;
}

export class Client {
  constructor(
    readonly base: string,
    readonly dispatcher: Agent,
  ) {}

  async call(method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (opts.token) headers.authorization = `PVEAPIToken=${opts.token.id}=${opts.token.secret}`;
    if (opts.ticket) {
      if (opts.ticket.asHeader) headers.authorization = `PVEAuthCookie=${opts.ticket.ticket}`;
      else headers.cookie = `PVEAuthCookie=${encodeURIComponent(opts.ticket.ticket)}`;
      if (opts.ticket.csrf) headers.csrfpreventiontoken = opts.ticket.csrf;
    }
    let body: string | undefined;
    if (opts.form) {
      const sp = new URLSearchParams();
      for (const [k, v] of Object.entries(opts.form)) for (const item of Array.isArray(v) ? v : [v]) sp.append(k, item);
      body = sp.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.rawBody !== undefined) {
      body = opts.rawBody;
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else if (opts.json !== undefined) {
      body = JSON.stringify(opts.json);
      headers['content-type'] = 'application/json';
    }
    const qs = opts.query ? `?${new URLSearchParams(opts.query).toString()}` : '';
    const res = await undiciFetch(`${this.base}/api2/json${path}${qs}`, {
      method, headers, dispatcher: this.dispatcher, ...(body !== undefined ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const text = await res.text();
    let parsed: Reply['body'];
    try {
      parsed = JSON.parse(text) as Reply['body'];
    } catch {
      parsed = { data: text };
    }
    return { status: res.status, statusText: res.statusText, body: parsed, text };
  }

  /** Waits for a task to stop and returns its status object. */
  async waitTask(upid: string, auth: CallOptions): Promise<Record<string, unknown>> {
    const node = upid.split(':')[1] as string;
    for (;;) {
      const r = await this.call('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`, auth);
      if (r.status !== 200) throw new Error(`task status ${r.status} ${r.statusText}`);
      const data = r.body.data as Record<string, unknown>;
      if (data.status === 'stopped') return data;
      await new Promise((res) => setTimeout(res, 10));
    }
  }

  async login(username: string, password: string): Promise<{ ticket: string; csrf: string }> {
    const r = await this.call('POST', '/access/ticket', { form: { username, password } });
    if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.statusText}`);
    const d = r.body.data as { ticket: string; CSRFPreventionToken: string };
    return { ticket: d.ticket, csrf: d.CSRFPreventionToken };
  }
}

export interface Sim {
  api: SimApi;
  server: SimApiServer;
  client: Client;
  hw: Hardware;
  log: SimRequestLogEntry[];
  close(): Promise<void>;
}

/** `taskMs`: how long a task waits before its worker runs (2 ms keeps the suite fast). */
export async function startSim(spec?: (hw: Hardware) => SimClusterSpec, taskMs = 2): Promise<Sim> {
  const hw = freshHardware();
  const api = createSimApi((spec ?? clusterSpec)(hw), { taskMs });
  const log: SimRequestLogEntry[] = [];
  const server = await startSimApiServer(api, { requestLog: (e) => log.push(e) });
  const dispatcher = new Agent({ connect: { ca: server.caPem } });
  return {
    api, server, hw, log, client: new Client(server.url, dispatcher),
    async close() {
      api.close();
      await server.close();
      await dispatcher.close();
    },
  };
}

/** A started simulator plus a root@pam ticket session, for tests that act as root and as a token. */
export async function startSimWithRoot(): Promise<{ sim: Sim; root: CallOptions }> {
  const sim = await startSim();
  const { ticket, csrf } = await sim.client.login('root@pam', ROOT_PASSWORD);
  return { sim, root: { ticket: { ticket, csrf } } };
}
