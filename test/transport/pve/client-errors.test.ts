import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/errors.js';
import { isDigestMismatch } from '../../../src/transport/pve/http-errors.js';
import { PveClient } from '../../../src/transport/pve/client.js';
import { clientFor, data, TestServer, TOKEN } from './server.js';

let server: TestServer;
beforeEach(async () => {
  server = await TestServer.start();
});
afterEach(async () => server.close());

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

describe('error mapping', () => {
  it('400 → E_API_PARAM with the per-parameter errors in paramErrors and in the message', async () => {
    server.route('PUT', '/cluster/mapping/pci/gpu-a', {
      status: 400, statusText: 'Parameter verification failed.',
      body: { data: null, errors: { map: 'invalid format - path: value does not match the regex pattern\n', digest: 'too long' } },
    });
    const { client } = clientFor(server);
    const err = await failure(client.updatePciMapping('gpu-a', { map: ['node=pve1,path=0000:01:00.0,id=10de:2204'] }));
    expect(err.code).toBe('E_API_PARAM');
    expect(err.status).toBe(400);
    expect(err.paramErrors).toEqual({ map: 'invalid format - path: value does not match the regex pattern', digest: 'too long' });
    expect(err.message).toContain('map: invalid format');
    expect(err.message).toContain('digest: too long');
    await client.close();
  });

  it('401 → E_API_AUTH without the secret', async () => {
    server.route('GET', '/version', { status: 401, statusText: 'No ticket' });
    const { client } = clientFor(server);
    const err = await failure(client.version());
    expect(err.code).toBe('E_API_AUTH');
    expect(JSON.stringify({ m: err.message, c: err.context })).not.toContain(TOKEN.secret);
    await client.close();
  });

  it('403 → E_API_PERMISSION naming the privilege probably missing', async () => {
    server.route('POST', '/nodes/pve1/qemu/101/status/start', { status: 403, statusText: 'Permission check failed (/vms/101, VM.PowerMgmt)' });
    server.route('GET', '/nodes/pve1/hardware/pci', { status: 403, statusText: 'Permission check failed' });
    server.route('POST', '/cluster/mapping/pci', { status: 403, statusText: 'Permission check failed' });
    const { client } = clientFor(server);
    expect((await failure(client.startVm('pve1', 101))).message).toMatch(/probably missing VM\.PowerMgmt on \/vms\/101/);
    expect((await failure(client.hardwarePci('pve1'))).message).toMatch(/probably missing Sys\.Audit on \//);
    const e = await failure(client.createPciMapping({ id: 'gpu-a', map: ['node=pve1,path=0000:01:00.0,id=10de:2204'] }));
    expect(e.code).toBe('E_API_PERMISSION');
    expect(e.message).toMatch(/Mapping\.Modify on \/mapping\/pci/);
    await client.close();
  });

  it('500 → E_API_SERVER with the message from the status line (old servers) or the body', async () => {
    server.route('POST', '/nodes/pve1/status', { status: 500, statusText: "only root can set 'hostpci0' config for non-mapped devices" });
    server.route('GET', '/nodes/pve1/qemu/101/pending', { status: 500, statusText: 'Internal Server Error', body: { data: null, message: 'VM 101 not running\n' } });
    const { client } = clientFor(server);
    const a = await failure(client.rebootNode('pve1'));
    expect(a).toMatchObject({ code: 'E_API_SERVER', status: 500 });
    expect(a.message).toContain("only root can set 'hostpci0'");
    const b = await failure(client.vmPending('pve1', 101));
    expect(b.message).toContain('VM 101 not running');
    expect(b.message).not.toContain('\n');
    await client.close();
  });

  it('500 checksum mismatch → E_API_DIGEST, recognised by isDigestMismatch', async () => {
    server.route('POST', '/nodes/pve1/qemu/101/config', { status: 500, statusText: 'checksum mismatch (file change by other user?)' });
    const { client } = clientFor(server);
    const err = await failure(client.updateVmConfig('pve1', 101, { set: { machine: 'q35' }, delete: [], digest: 'abc' }));
    expect(err.code).toBe('E_API_DIGEST');
    expect(isDigestMismatch(err)).toBe(true);
    expect(isDigestMismatch(new ApiError('E_API_SERVER', 'other', 500))).toBe(false);
    await client.close();
  });

  it('501 → E_API_NOT_IMPLEMENTED (unknown path)', async () => {
    const { client } = clientFor(server);
    expect((await failure(client.haResources())).code).toBe('E_API_NOT_IMPLEMENTED');
    await client.close();
  });

  it('unreachable → E_API_NETWORK naming cluster and host, after retries', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const sleeps: number[] = [];
    const client = new PveClient({
      baseUrl: `https://127.0.0.1:${port}`, tls: { system: true }, auth: { token: TOKEN }, timeoutMs: 2000, cluster: 'lab',
      retries: { attempts: 3, baseDelayMs: 10 }, sleep: async (ms) => void sleeps.push(ms),
    });
    const err = await failure(client.version());
    expect(err.code).toBe('E_API_NETWORK');
    expect(err.message).toContain(`127.0.0.1:${port}`);
    expect(err.message).toContain('lab');
    expect(err.context.cluster).toBe('lab');
    expect(sleeps).toEqual([10, 20]);
    expect(client.requestCount).toBe(3);
    await client.close();
  });

  it('no answer → E_API_TIMEOUT', async () => {
    server.route('GET', '/version', { hang: true });
    const { client } = clientFor(server, { timeoutMs: 150, retries: { attempts: 1, baseDelayMs: 1 } });
    expect((await failure(client.version())).code).toBe('E_API_TIMEOUT');
    await client.close();
  });

  it('a secret echoed by the server is redacted', async () => {
    server.route('GET', '/version', { status: 500, statusText: 'boom', body: { data: null, message: `bad token PVEAPIToken=${TOKEN.id}=${TOKEN.secret}` } });
    const { client } = clientFor(server);
    const err = await failure(client.version());
    expect(err.message).not.toContain(TOKEN.secret);
    await client.close();
  });

  it('a response that drives writes with the wrong shape → E_API_RESPONSE', async () => {
    server.route('GET', '/nodes/pve1/qemu/101/config', data({ name: 'vm' }));
    server.route('GET', '/nodes/pve1/qemu/101/status/current', data({ status: 'paused' }));
    const { client } = clientFor(server);
    expect((await failure(client.vmConfig('pve1', 101))).code).toBe('E_API_RESPONSE');
    expect((await failure(client.vmStatus('pve1', 101))).message).toMatch(/status/);
    await client.close();
  });
});

describe('retries', () => {
  it('retries a GET on 502/503/504 with exponential backoff', async () => {
    server.route('GET', '/cluster/status', (_r, n) => (n <= 2
      ? { status: n === 1 ? 503 : 502, statusText: 'Service Unavailable' }
      : data([{ type: 'cluster', name: 'lab', nodes: 3, quorate: 1, version: 5 }])));
    const { client, sleeps } = clientFor(server, { retries: { attempts: 4, baseDelayMs: 100 } });
    expect(await client.clusterStatus()).toEqual([{ type: 'cluster', name: 'lab', nodes: 3, quorate: true, version: 5 }]);
    expect(sleeps).toEqual([100, 200]);
    expect(server.requestsTo('GET', '/cluster/status')).toHaveLength(3);
    await client.close();
  });

  it('gives up after the configured attempts', async () => {
    server.route('GET', '/nodes', { status: 504, statusText: 'Gateway Timeout' });
    const { client, sleeps } = clientFor(server, { retries: { attempts: 2, baseDelayMs: 5 } });
    expect((await failure(client.nodes())).status).toBe(504);
    expect(sleeps).toEqual([5]);
    await client.close();
  });

  it('does not retry a GET on 500 or 400', async () => {
    server.route('GET', '/nodes', { status: 500, statusText: 'boom' });
    const { client, sleeps } = clientFor(server);
    await failure(client.nodes());
    expect(sleeps).toEqual([]);
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it('never retries a write, even on 503', async () => {
    server.route('POST', '/nodes/pve1/qemu/101/status/start', { status: 503, statusText: 'Service Unavailable' });
    const { client, sleeps } = clientFor(server, { retries: { attempts: 5, baseDelayMs: 1 } });
    expect((await failure(client.startVm('pve1', 101))).status).toBe(503);
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    await client.close();
  });
});
