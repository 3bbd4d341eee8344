/**
 * Every API read is validated (src/transport/pve/schemas.ts): an answer that
 * does not fit is an E_API_RESPONSE naming the endpoint and the field, never a
 * default. The safety inputs first (cluster status/quorum, HA resources, the
 * guests on a node, VM status): a read that once fell back to "nothing there"
 * would let the reboot gate take a wrong answer for a safe one.
 * Field names and types as in PVE's API schema (pve-docs api-viewer).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/errors.js';
import type { PveClient } from '../../../src/transport/pve/client.js';
import { clientFor, data, TestServer } from './server.js';

let server: TestServer;
let client: PveClient;
beforeAll(async () => {
  server = await TestServer.start();
  client = clientFor(server).client;
});
afterAll(async () => server.close());

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('safety reads: a malformed answer is an error naming the endpoint and the field', () => {
  it('GET /cluster/status: a node without "online" (quorum cannot be counted)', async () => {
    server.route('GET', '/cluster/status', data([
      { type: 'cluster', name: 'lab', nodes: 2, quorate: 1 },
      { type: 'node', name: 'pve1' },
    ]));
    const err = await failure(client.clusterStatus());
    expect(err.code).toBe('E_API_RESPONSE');
    expect(err.message).toMatch(/^GET \/cluster\/status: unexpected answer at 1/);
    expect(err.context.cluster).toBe('lab');
  });

  it('GET /cluster/ha/resources: not a list, or an entry without its sid, is not "no HA"', async () => {
    server.route('GET', '/cluster/ha/resources', data({ sid: 'vm:101', state: 'started' }));
    const notList = await failure(client.haResources());
    expect(notList.code).toBe('E_API_RESPONSE');
    expect(notList.message).toMatch(/^GET \/cluster\/ha\/resources: unexpected answer at \(top\)/);
    server.route('GET', '/cluster/ha/resources', data([{ state: 'started', type: 'vm' }]));
    const noSid = await failure(client.haResources());
    expect(noSid.message).toMatch(/^GET \/cluster\/ha\/resources: unexpected answer at 0\.sid/);
  });

  it('GET /cluster/resources?type=vm: a guest whose vmid is not a number, or a null list, is not "no guests"', async () => {
    server.route('GET', '/cluster/resources', data([{ type: 'qemu', vmid: '101', node: 'pve1', status: 'running' }]));
    const badId = await failure(client.guests());
    expect(badId.code).toBe('E_API_RESPONSE');
    expect(badId.message).toMatch(/^GET \/cluster\/resources: unexpected answer at 0\.vmid/);
    server.route('GET', '/cluster/resources', data(null));
    expect((await failure(client.guests())).message).toMatch(/^GET \/cluster\/resources: unexpected answer at \(top\)/);
    expect(server.requestsTo('GET', '/cluster/resources').at(-1)!.query).toEqual({ type: 'vm' });
  });

  it('GET …/status/current: an unknown power state is not "stopped"', async () => {
    server.route('GET', '/nodes/pve1/qemu/101/status/current', data({ status: 'paused' }));
    const err = await failure(client.vmStatus('pve1', 101));
    expect(err.code).toBe('E_API_RESPONSE');
    expect(err.message).toMatch(/^GET \/nodes\/pve1\/qemu\/101\/status\/current: unexpected answer at status/);
    expect(err.context).toMatchObject({ cluster: 'lab', node: 'pve1', vmid: 101 });
  });

  it('well-formed answers pass, the loose fields kept (the checks above can pass)', async () => {
    server.route('GET', '/cluster/ha/resources', data([{ sid: 'vm:101', type: 'vm', max_restart: 1 }]));
    expect(await client.haResources()).toEqual([{ sid: 'vm:101', type: 'vm', max_restart: 1 }]);
    server.route('GET', '/cluster/resources', data([{ id: 'qemu/101', type: 'qemu', vmid: 101, node: 'pve1', status: 'running', template: 0 }]));
    expect(await client.guests()).toEqual([{ id: 'qemu/101', type: 'qemu', vmid: 101, node: 'pve1', status: 'running', template: 0 }]);
    server.route('GET', '/nodes/pve1/qemu/101/status/current', data({ status: 'running', qmpstatus: 'running' }));
    expect((await client.vmStatus('pve1', 101)).status).toBe('running');
  });
});

describe('the other reads are validated too', () => {
  it('GET /version, /nodes, /cluster/mapping/pci and /cluster/mapping/pci/{id}', async () => {
    server.route('GET', '/version', data({ release: '9.1' }));
    expect((await failure(client.version())).message).toMatch(/^GET \/version: unexpected answer at version/);
    server.route('GET', '/nodes', data([{ status: 'online' }]));
    expect((await failure(client.nodes())).message).toMatch(/^GET \/nodes: unexpected answer at 0\.node/);
    server.route('GET', '/cluster/mapping/pci', data({}));
    expect((await failure(client.pciMappings())).message).toMatch(/^GET \/cluster\/mapping\/pci: unexpected answer at \(top\)/);
    server.route('GET', '/cluster/mapping/pci/gpu-a', data({ map: 'node=pve1,path=0000:01:00.0' }));
    expect((await failure(client.pciMapping('gpu-a'))).message).toMatch(/^GET \/cluster\/mapping\/pci\/gpu-a: unexpected answer at map/);
    server.route('GET', '/cluster/mapping/pci/gpu-a', data({ map: [], digest: 'x' }));
    expect(await client.pciMapping('gpu-a')).toEqual({ id: 'gpu-a', map: [], digest: 'x' });
  });
});
