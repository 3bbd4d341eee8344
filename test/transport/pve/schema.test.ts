/**
 * Every request the client can send, recorded from the test server, is checked
 * against the PVE schema extract (test/fixtures/pve-schema/endpoints.json).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkRequest, schemaRegExp } from '../../helpers/pve-schema.js';
import { serialiseMapEntry } from '../../../src/formats/mapping.js';
import { clientFor, data, TestServer, type Recorded } from './server.js';

const UPID = 'UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:root@pam:';
let server: TestServer;
let recorded: Recorded[] = [];

function schemaProblems(r: Recorded): string[] {
  // Path segments are still URL-encoded as sent; the checker decodes path parameters.
  return checkRequest(r.method, r.path, r.method === 'GET' || r.method === 'DELETE' ? r.query : { ...r.form, ...r.query });
}

beforeAll(async () => {
  server = await TestServer.start();
  const ok = data({ status: 'stopped', exitstatus: 'OK' });
  server
    .route('POST', '/access/ticket', data({ username: 'root@pam', ticket: 'PVE:root@pam:X', CSRFPreventionToken: 'C' }))
    .route('GET', '/version', data({ version: '9.1.9' }))
    .route('GET', '/cluster/status', data([{ type: 'node', name: 'pve1', online: 1 }]))
    .route('GET', '/cluster/resources', data([]))
    .route('GET', '/cluster/ha/resources', data([]))
    .route('GET', '/nodes', data([]))
    .route('GET', '/nodes/pve1/qemu/101/config', data({ hostpci1: '0000:02:00.0', digest: 'a'.repeat(40) }))
    .route('GET', '/nodes/pve1/qemu/101/pending', data([{ key: 'hostpci0', pending: 'mapping=gpu-a', value: '0000:01:00' }]))
    .route('GET', '/nodes/pve1/qemu/101/status/current', data({ status: 'running', 'running-machine': 'pc-q35-9.2+pve1' }))
    .route('GET', '/nodes/pve1/hardware/pci', data([{ id: '0000:01:00.0', class: '0x030000', vendor: '0x10de', device: '0x2204', iommugroup: 14 }]))
    .route('GET', '/cluster/mapping/pci', data([{ id: 'gpu-a', map: [], digest: 'x' }]))
    .route('GET', '/cluster/mapping/pci/gpu-a', data({ map: [], digest: 'x' }))
    .route('POST', '/cluster/mapping/pci', data(null))
    .route('PUT', '/cluster/mapping/pci/gpu-a', data(null))
    .route('POST', '/nodes/pve1/status', data(null))
    .route('POST', '/nodes/pve1/qemu/101/config', data(UPID))
    .route('POST', '/nodes/pve1/qemu/101/status/shutdown', data(UPID))
    .route('POST', '/nodes/pve1/qemu/101/status/stop', data(UPID))
    .route('POST', '/nodes/pve1/qemu/101/status/start', data(UPID))
    .route('GET', `/nodes/pve1/tasks/${UPID}/status`, ok)
    .route('GET', `/nodes/pve1/tasks/${UPID}/log`, data([{ n: 1, t: 'TASK OK' }], { total: 1 }));
  const { client } = clientFor(server, { rootTicket: { password: 'pw', totp: '123456' } });
  const map = [serialiseMapEntry({ node: 'pve1', path: ['0000:01:00.0'], id: '10de:2204', 'subsystem-id': '1043:87b3', iommugroup: 14 })];
  await client.version();
  await client.clusterStatus();
  await client.guests();
  await client.haResources();
  await client.nodes();
  await client.vmConfig('pve1', 101);
  await client.vmConfig('pve1', 101, { current: true });
  await client.vmPending('pve1', 101);
  await client.vmStatus('pve1', 101);
  await client.hardwarePci('pve1');
  await client.pciMappings();
  await client.pciMapping('gpu-a');
  await client.createPciMapping({ id: 'gpu-a', map: [...map, map[0]!.replace('pve1', 'pve2')], description: 'RTX 3090; slot 1' });
  await client.updatePciMapping('gpu-a', { map, description: 'x', digest: 'b'.repeat(40) });
  await client.rebootNode('pve1');
  await client.updateVmConfig('pve1', 101, {
    set: { hostpci0: 'mapping=gpu-a,pcie=1,x-vga=1', hostpci2: '0000:01:00.0;0000:01:00.1,rombar=0', machine: 'pc-q35-9.2+pve1,viommu=virtio' },
    delete: ['hostpci1', 'hostpci15'],
    digest: 'a'.repeat(40),
  });
  await client.shutdownVm('pve1', 101, { timeout: 180, forceStop: true });
  await client.stopVm('pve1', 101, { timeout: 30 });
  await client.startVm('pve1', 101);
  await client.taskLog(UPID);
  await client.close();
  recorded = [...server.requests];
});
afterAll(async () => server.close());

describe('requests against the PVE schema', () => {
  it('recorded every endpoint the client uses', () => {
    const seen = new Set(recorded.map((r) => `${r.method} ${r.path.split('/').map((s) => (s.startsWith('UPID') ? '{upid}' : s)).join('/')}`));
    expect(seen.size).toBeGreaterThanOrEqual(20);
  });

  it('every recorded request is valid for the schema', () => {
    const problems = recorded.flatMap((r) => schemaProblems(r).map((p) => `${r.method} ${r.path}: ${p}`));
    expect(problems).toEqual([]);
  });

  it('sends the map array as repeated fields and ";" intact', () => {
    const create = recorded.find((r) => r.method === 'POST' && r.path === '/cluster/mapping/pci');
    expect(Array.isArray(create?.form.map)).toBe(true);
    expect(create?.form.description).toBe('RTX 3090; slot 1');
    const cfg = recorded.find((r) => r.method === 'POST' && r.path.endsWith('/config'));
    expect(cfg?.form.hostpci2).toBe('0000:01:00.0;0000:01:00.1,rombar=0');
  });

  it('asks for every PCI class', () => {
    const hw = recorded.find((r) => r.path === '/nodes/pve1/hardware/pci');
    expect(hw?.query).toEqual({ 'pci-class-blacklist': '' });
  });
});

describe('the schema checker itself', () => {
  it('catches unknown parameters, bad values and unknown endpoints', () => {
    expect(checkRequest('POST', '/nodes/pve1/qemu/101/config', { hostpci16: '0000:01:00' }).join()).toMatch(/unknown parameter/);
    expect(checkRequest('POST', '/nodes/pve1/qemu/101/config', { hostpci0: '0000:01:00,pcie=maybe' }).join()).toMatch(/pcie/);
    expect(checkRequest('POST', '/nodes/pve1/qemu/101/config', { machine: 'q36' }).join()).toMatch(/machine\.type/);
    expect(checkRequest('POST', '/nodes/pve1/qemu/101/config', { digest: 'a'.repeat(41) }).join()).toMatch(/longer than 40/);
    expect(checkRequest('POST', '/nodes/pve1/qemu/101/status/shutdown', { forceStop: 'true' }).join()).toMatch(/boolean/);
    expect(checkRequest('POST', '/nodes/pve1/qemu/99/config', {}).join()).toMatch(/minimum/);
    expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'gpu', map: ['node=pve1,path=01:00.0,id=10de:2204'] }).join()).toMatch(/path/);
    expect(checkRequest('POST', '/cluster/mapping/pci', { id: 'gpu' }).join()).toMatch(/required parameter map/);
    expect(checkRequest('PATCH', '/version', {}).join()).toMatch(/no such endpoint/);
    expect(checkRequest('GET', '/cluster/resources', { type: 'qemu' }).join()).toMatch(/not in/);
  });

  it('translates Perl (?^:…) and (?^i:…) groups', () => {
    expect(schemaRegExp('(?^:^[0-9A-Fa-f]{4}:[0-9A-Fa-f]{4}$)').test('10de:2204')).toBe(true);
    expect(schemaRegExp('(?^i:[a-z]+)').test('ABC')).toBe(true);
    expect(schemaRegExp('(?^:[a-z]+)').test('ABC')).toBe(false);
    expect(schemaRegExp('q35').test('xq35')).toBe(false);
  });
});
