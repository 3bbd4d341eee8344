/**
 * The loopback control interface of a running simulator: read its state,
 * inject drift and faults while the tool runs against it. Plain HTTP on
 * 127.0.0.1 only; JSON in, JSON out. Documented in mocks/README.md.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SimFaultSpec } from '../api/index.js';
import type { HostFaults } from '../hosts/index.js';
import type { Fleet } from './fleet.js';

export interface ControlServer {
  readonly url: string;
  close(): Promise<void>;
}

type Drift =
  | { node: string; action: 'remove-file'; path: string }
  | { node: string; action: 'write-file'; path: string; content: string }
  | { node: string; action: 'set-cmdline'; cmdline: string }
  | { node: string; action: 'rebind'; address: string; driver: string | null }
  | { cluster: string; action: 'set-config'; vmid: number; changes: Record<string, string | null> }
  | { cluster: string; action: 'detach-hostpci'; vmid: number; key: string }
  | { cluster: string; action: 'set-vm-status'; vmid: number; status: 'running' | 'stopped' };

type Fault = { node: string; faults: HostFaults } | { cluster: string; api: SimFaultSpec } | { node: string; action: 'rotate-host-key' };

export function fleetState(fleet: Fleet): unknown {
  return {
    scenario: fleet.scenario.name,
    inventory: fleet.inventoryPath,
    clusters: fleet.clusters.map((c) => ({
      name: c.name,
      api: c.server?.url ?? null,
      nodes: [...c.hosts.entries()].map(([name, h]) => ({
        name,
        port: h.port,
        down: h.down,
        phase: h.state.phase,
        reboots: h.reboots,
        bootId: h.state.bootId,
        cmdline: h.state.booted.cmdline,
        iommuActive: h.state.booted.iommuActive,
        drivers: Object.fromEntries(h.state.booted.drivers),
        violations: h.violations.length,
        incidents: h.state.incidents,
        connectionsAccepted: h.connectionsAccepted,
      })),
      vms: c.api ? [...c.api.state.vms.values()].map((v) => ({ vmid: v.vmid, node: v.node, status: v.status, config: Object.fromEntries(v.file.current), pending: Object.fromEntries(v.file.pending) })) : [],
    })),
  };
}

export function applyDrift(fleet: Fleet, d: Drift): void {
  if ('node' in d) {
    const h = fleet.host(d.node).state;
    if (d.action === 'remove-file') h.drift.removeFile(d.path);
    else if (d.action === 'write-file') h.drift.writeFile(d.path, d.content);
    else if (d.action === 'set-cmdline') h.drift.setProcCmdline(d.cmdline);
    else if (d.action === 'rebind') h.drift.rebindDriver(d.address, d.driver);
    return;
  }
  const api = fleet.cluster(d.cluster).api;
  if (!api) throw new Error(`cluster ${d.cluster} has no API`);
  if (d.action === 'set-config') api.setConfig(d.vmid, d.changes);
  else if (d.action === 'detach-hostpci') api.setConfig(d.vmid, { [d.key]: null });
  else if (d.action === 'set-vm-status') api.setVmStatus(d.vmid, d.status);
}

export function applyFault(fleet: Fleet, f: Fault): void {
  if ('api' in f) {
    const api = fleet.cluster(f.cluster).api;
    if (!api) throw new Error(`cluster ${f.cluster} has no API`);
    api.faults.apply(f.api);
  } else if ('action' in f) fleet.host(f.node).rotateHostKey();
  else fleet.host(f.node).state.setFaults(f.faults);
}

async function body(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > 1_000_000) throw new Error('body too large');
  }
  return text ? JSON.parse(text) : {};
}

export async function startControl(fleet: Fleet, port = 0): Promise<ControlServer> {
  const server: Server = createServer((req, res) => {
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(value, null, 2)}\n`);
    };
    void (async () => {
      try {
        if (req.method === 'GET' && req.url === '/state') return send(200, fleetState(fleet));
        if (req.method === 'POST' && req.url === '/drift') {
          applyDrift(fleet, (await body(req)) as Drift);
          return send(200, { ok: true });
        }
        if (req.method === 'POST' && req.url === '/fault') {
          applyFault(fleet, (await body(req)) as Fault);
          return send(200, { ok: true });
        }
        send(404, { error: 'unknown endpoint: GET /state, POST /drift, POST /fault' });
      } catch (err) {
        send(400, { error: err instanceof Error ? err.message : String(err) });
      }
    })();
  });
  await new Promise<void>((resolveListen) => server.listen(port, '127.0.0.1', resolveListen));
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
