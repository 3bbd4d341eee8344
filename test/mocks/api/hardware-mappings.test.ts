import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSim, TOKEN, type CallOptions, type Sim } from './fixture.js';

let sim: Sim;
const tok: CallOptions = { token: TOKEN };

beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});

const ids = (data: unknown): string[] => (data as Array<{ id: string }>).map((d) => d.id);

describe('GET /nodes/{node}/hardware/pci', () => {
  it('hides memory controllers, bridges and processors by default (05;06;0b), sorted by id', async () => {
    const r = await sim.client.call('GET', '/nodes/pve1/hardware/pci', tok);
    expect(ids(r.body.data)).toEqual(['0000:00:1f.4', '0000:01:00.0', '0000:01:00.1', '0000:02:00.0']);
  });

  it('lists every class with an empty blacklist, and filters on class prefixes given with ; or ,', async () => {
    const all = await sim.client.call('GET', '/nodes/pve1/hardware/pci', { ...tok, query: { 'pci-class-blacklist': '' } });
    expect(ids(all.body.data)).toHaveLength(7);
    const some = await sim.client.call('GET', '/nodes/pve1/hardware/pci', { ...tok, query: { 'pci-class-blacklist': '0c,0403;06' } });
    expect(ids(some.body.data)).toEqual(['0000:00:14.2', '0000:01:00.0', '0000:02:00.0']);
  });

  it('drops names and subsystem ids unless verbose', async () => {
    const full = await sim.client.call('GET', '/nodes/pve1/hardware/pci', tok);
    expect((full.body.data as object[])[1]).toMatchObject({ id: '0000:01:00.0', subsystem_vendor: '0x1043', device_name: 'GA102 [GeForce RTX 3090]', iommugroup: 14 });
    const terse = await sim.client.call('GET', '/nodes/pve1/hardware/pci', { ...tok, query: { verbose: '0' } });
    expect((terse.body.data as object[])[1]).toEqual({ id: '0000:01:00.0', class: '0x030000', vendor: '0x10de', device: '0x2204', iommugroup: 14 });
  });

  it('reads the hardware through the closure every time', async () => {
    sim.hw.pve2 = [];
    expect((await sim.client.call('GET', '/nodes/pve2/hardware/pci', tok)).body.data).toEqual([]);
  });

  it('answers an unknown node with 500', async () => {
    const r = await sim.client.call('GET', '/nodes/pve9/hardware/pci', tok);
    expect(r.status).toBe(500);
    expect(r.statusText).toBe("no such cluster node 'pve9'");
  });
});

describe('capabilities and discovery', () => {
  it('lists q35 and i440fx machine versions, newest with +pve1', async () => {
    const r = await sim.client.call('GET', '/nodes/pve1/capabilities/qemu/machines', tok);
    const list = r.body.data as Array<{ id: string; type: string }>;
    expect(list.slice(0, 2)).toEqual([
      { id: 'pc-q35-9.2+pve1', type: 'q35', version: '9.2+pve1' },
      { id: 'pc-i440fx-9.2+pve1', type: 'i440fx', version: '9.2+pve1' },
    ]);
    expect(list.map((m) => m.id)).toContain('pc-i440fx-8.1');
  });

  it('includes containers in /cluster/resources?type=vm', async () => {
    const r = await sim.client.call('GET', '/cluster/resources', { ...tok, query: { type: 'vm' } });
    const list = r.body.data as Array<{ id: string; type: string }>;
    expect(list.map((g) => g.id)).toEqual(['qemu/101', 'qemu/102', 'qemu/103', 'qemu/104', 'qemu/105', 'lxc/200']);
    expect(list.find((g) => g.id === 'qemu/105')).toMatchObject({ hastate: 'stopped' });
  });

  it('lists HA resources filtered by type', async () => {
    expect((await sim.client.call('GET', '/cluster/ha/resources', { ...tok, query: { type: 'ct' } })).body.data).toEqual([]);
    expect((await sim.client.call('GET', '/cluster/ha/resources', tok)).body.data).toEqual([
      { sid: 'vm:105', type: 'vm', state: 'stopped', max_restart: 1, max_relocate: 1 },
    ]);
  });
});

describe('/cluster/mapping/pci', () => {
  const entry = 'node=pve2,path=0000:41:00,id=10de:2204,subsystem-id=1043:87b3,iommugroup=30';

  it('creates, lists and reads a mapping; a second create of the same id fails', async () => {
    const create = await sim.client.call('POST', '/cluster/mapping/pci', { ...tok, form: { id: 'gpu-b', map: [entry], description: 'second card' } });
    expect(create.status, create.statusText).toBe(200);
    expect(create.body.data).toBeNull();
    const again = await sim.client.call('POST', '/cluster/mapping/pci', { ...tok, form: { id: 'gpu-b', map: [entry] } });
    expect(again.status).toBe(500);
    expect(again.statusText).toBe("pci ID 'gpu-b' already defined");
    const one = await sim.client.call('GET', '/cluster/mapping/pci/gpu-b', tok);
    expect(one.body.data).toMatchObject({ id: 'gpu-b', map: [entry], description: 'second card' });
    const list = await sim.client.call('GET', '/cluster/mapping/pci', tok);
    expect(ids(list.body.data)).toEqual(['gpu-a', 'gpu-b']);
  });

  it('accepts map as a repeated form field and as a JSON array', async () => {
    const two = ['node=pve1,path=0000:02:00.0,id=8086:1533', 'node=pve2,path=0000:41:00.1,id=10de:1aef'];
    const r = await sim.client.call('POST', '/cluster/mapping/pci', { ...tok, json: { id: 'nics', map: two } });
    expect(r.status, r.statusText).toBe(200);
    expect(((await sim.client.call('GET', '/cluster/mapping/pci/nics', tok)).body.data as { map: string[] }).map).toEqual(two);
  });

  it('gives per-entry 400 errors for bad map entries', async () => {
    const r = await sim.client.call('POST', '/cluster/mapping/pci', {
      ...tok, form: { id: 'bad', map: ['node=pve1,path=01:00.0,id=10de:2204', 'node=pve1,path=0000:01:00.0,id=0x10de:0x2204'] },
    });
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({
      'map[0]': 'invalid format - format error\nmap[0].path: value does not match the regex pattern\n',
      'map[1]': 'invalid format - format error\nmap[1].id: value does not match the regex pattern\n',
    });
    const noId = await sim.client.call('POST', '/cluster/mapping/pci', { ...tok, form: { map: [entry] } });
    expect(noId.body.errors).toEqual({ id: 'property is missing and it is not optional' });
  });

  it('updates with a digest; a stale digest is refused', async () => {
    const digest = ((await sim.client.call('GET', '/cluster/mapping/pci/gpu-b', tok)).body.data as { digest: string }).digest;
    expect(digest).toMatch(/^[0-9a-f]{40}$/);
    const ok = await sim.client.call('PUT', '/cluster/mapping/pci/gpu-b', { ...tok, form: { description: 'renamed', digest } });
    expect(ok.status, ok.statusText).toBe(200);
    const stale = await sim.client.call('PUT', '/cluster/mapping/pci/gpu-b', { ...tok, form: { description: 'again', digest } });
    expect(stale.status).toBe(500);
    expect(stale.statusText).toBe('detected modified configuration - file changed by other user? Try again.');
    const del = await sim.client.call('PUT', '/cluster/mapping/pci/gpu-b', { ...tok, form: { delete: 'description' } });
    expect(del.status).toBe(200);
    expect((await sim.client.call('GET', '/cluster/mapping/pci/gpu-b', tok)).body.data).not.toHaveProperty('description');
  });

  it('reports checks per node with check-node', async () => {
    sim.hw.pve2 = [
      { id: '0000:41:00.0', class: '0x030000', vendor: '0x10de', device: '0x2204', subsystem_vendor: '0x1043', subsystem_device: '0x87b3', iommugroup: 31 },
    ];
    const r = await sim.client.call('GET', '/cluster/mapping/pci', { ...tok, query: { 'check-node': 'pve2' } });
    const byId = Object.fromEntries((r.body.data as Array<{ id: string; checks: unknown }>).map((m) => [m.id, m.checks]));
    expect(byId['gpu-a']).toEqual([{ severity: 'warning', message: 'No mapping for node pve2.' }]);
    expect(byId['gpu-b']).toEqual([{ severity: 'error', message: "Invalid configuration: 'iommugroup' does not match for 'gpu-b' (31 != 30)" }]);
  });

  it('deletes a mapping; reading it afterwards fails', async () => {
    expect((await sim.client.call('DELETE', '/cluster/mapping/pci/gpu-b', tok)).status).toBe(200);
    const gone = await sim.client.call('GET', '/cluster/mapping/pci/gpu-b', tok);
    expect(gone.status).toBe(500);
    expect(gone.statusText).toBe("mapping 'gpu-b' not found");
  });

  it('shows no mappings to a token without Mapping privileges', async () => {
    const r = await sim.client.call('GET', '/cluster/mapping/pci', { token: { id: 'audit@pve!ro', secret: 'ro-secret' } });
    expect(r.body.data).toEqual([]);
  });
});
