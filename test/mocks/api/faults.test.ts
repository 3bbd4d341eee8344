import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSim, TOKEN, type CallOptions, type Sim } from './fixture.js';

let sim: Sim;
const tok: CallOptions = { token: TOKEN };

beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.api.faults.clear();
});

describe('request faults', () => {
  it('fail the next matching call once, with the message on the status line', async () => {
    sim.api.faults.failRequest({ method: 'GET', path: /^\/nodes\/pve1\/qemu\/101\/config$/, message: 'got timeout' });
    const first = await sim.client.call('GET', '/nodes/pve1/qemu/101/config', tok);
    expect(first.status).toBe(500);
    expect(first.statusText).toBe('got timeout');
    expect(first.body).toEqual({ data: null, message: 'got timeout\n' });
    expect((await sim.client.call('GET', '/nodes/pve1/qemu/101/config', tok)).status).toBe(200);
  });

  it('fail every matching call when once is false, and only for the given method', async () => {
    sim.api.faults.failRequest({ method: 'POST', path: /config$/, status: 503, message: 'Service Unavailable', once: false });
    for (let i = 0; i < 2; i++) {
      expect((await sim.client.call('POST', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '2' } })).status).toBe(503);
    }
    expect((await sim.client.call('GET', '/nodes/pve1/qemu/101/config', tok)).status).toBe(200);
  });

  it('can be armed from JSON (a control interface) and described back', async () => {
    sim.api.faults.apply({ requests: [{ path: '^/version$', message: 'boom' }], tasks: [{ type: 'qmstart', message: 'no' }] });
    const described = sim.api.faults.describe();
    expect(described.tasks).toEqual([{ type: 'qmstart', message: 'no' }]);
    expect(new RegExp(described.requests?.[0]?.path ?? '').test('/version')).toBe(true);
    const r = await sim.client.call('GET', '/version', tok);
    expect([r.status, r.statusText]).toEqual([500, 'boom']);
  });
});

describe('timeouts', () => {
  it('answer late after the given delay', async () => {
    sim.api.faults.delayRequest({ path: /^\/version$/, ms: 30 });
    const r = await sim.client.call('GET', '/version', tok);
    expect(r.status).toBe(200);
  });

  it('never answer until the client gives up', async () => {
    sim.api.faults.delayRequest({ path: /^\/cluster\/status$/ });
    await expect(sim.client.call('GET', '/cluster/status', { ...tok, signal: AbortSignal.timeout(50) })).rejects.toThrow();
    // The fault was used up: the next call answers.
    expect((await sim.client.call('GET', '/cluster/status', tok)).status).toBe(200);
  });
});

describe('quorum', () => {
  it('computes quorum from online nodes', async () => {
    expect(sim.api.state.quorum()).toEqual({ votes: 3, expected: 3, quorum: 2, quorate: true });
    sim.hw.online.pve2 = false;
    expect(sim.api.state.quorum()).toMatchObject({ votes: 2, quorate: true });
    sim.hw.online.pve3 = false;
    expect(sim.api.state.quorum()).toMatchObject({ votes: 1, quorate: false });
    const cs = (await sim.client.call('GET', '/cluster/status', tok)).body.data as Array<Record<string, unknown>>;
    expect(cs[0]).toMatchObject({ type: 'cluster', quorate: 0 });
    sim.hw.online = {};
  });

  it('quorumLost takes the other nodes offline and refuses writes', async () => {
    sim.api.faults.setQuorumLost(true);
    const cs = (await sim.client.call('GET', '/cluster/status', tok)).body.data as Array<Record<string, unknown>>;
    expect(cs.map((i) => [i.name, i.online ?? i.quorate])).toEqual([['lab', 0], ['pve1', 1], ['pve2', 0], ['pve3', 0]]);
    const write = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ...tok, form: { cores: '2' } });
    expect(write.status).toBe(500);
    expect(write.statusText).toBe('cluster not ready - no quorum?');
    expect((await sim.client.call('POST', '/cluster/mapping/pci', { ...tok, form: { id: 'x1', map: ['node=pve1,path=0000:02:00.0,id=8086:1533'] } })).status).toBe(500);
    expect((await sim.client.call('GET', '/nodes/pve2/qemu/103/config', tok)).status).toBe(595);
    const nodes = (await sim.client.call('GET', '/nodes', tok)).body.data as Array<{ node: string; status: string }>;
    expect(nodes.map((n) => n.status)).toEqual(['online', 'offline', 'offline']);
  });
});

describe('drift helpers', () => {
  it('setConfig edits behind the API (digest changes), setVmStatus flips power', async () => {
    const before = (await sim.client.call('GET', '/nodes/pve1/qemu/102/config', tok)).body.data as Record<string, string>;
    sim.api.setConfig(102, { hostpci0: null });
    const after = (await sim.client.call('GET', '/nodes/pve1/qemu/102/config', tok)).body.data as Record<string, string>;
    expect(before.hostpci0).toBe('0000:01:00,pcie=1');
    expect(after.hostpci0).toBeUndefined();
    expect(after.digest).not.toBe(before.digest);
    sim.api.setVmStatus(102, 'stopped');
    expect(((await sim.client.call('GET', '/nodes/pve1/qemu/102/status/current', tok)).body.data as { status: string }).status).toBe('stopped');
  });
});
