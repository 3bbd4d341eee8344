import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TaskFailedError } from '../../../src/transport/pve/client.js';
import { clientFor, data, TestServer, UPID_CFG } from './server.js';

const UPID_START = 'UPID:pve2:00001234:000ABCDE:66F0A1B3:qmstart:101:svc@pve!deploy:';
const statusPath = (u: string, node: string) => `/nodes/${node}/tasks/${u}/status`;
const logPath = (u: string, node: string) => `/nodes/${node}/tasks/${u}/log`;

let server: TestServer;
beforeEach(async () => {
  server = await TestServer.start();
});
afterEach(async () => server.close());

describe('tasks', () => {
  it('polls the node named in the UPID until stopped; OK is success', async () => {
    server.route('POST', '/nodes/pve2/qemu/101/status/start', data(UPID_START));
    server.route('GET', statusPath(UPID_START, 'pve2'), (_r, n) => data(n < 3 ? { status: 'running' } : { status: 'stopped', exitstatus: 'OK' }));
    const { client, sleeps } = clientFor(server);
    expect(await client.startVm('pve2', 101, {}, { pollMs: 50 })).toEqual({ upid: UPID_START, exitstatus: 'OK' });
    expect(server.requestsTo('GET', statusPath(UPID_START, 'pve2'))).toHaveLength(3);
    expect(sleeps).toEqual([50, 50]);
    await client.close();
  });

  it('treats "WARNINGS: 2" as success', async () => {
    server.route('GET', statusPath(UPID_CFG, 'pve1'), data({ status: 'stopped', exitstatus: 'WARNINGS: 2' }));
    const { client } = clientFor(server);
    expect((await client.waitTask(UPID_CFG)).exitstatus).toBe('WARNINGS: 2');
    await client.close();
  });

  it('fails with the exitstatus and the last log lines', async () => {
    server.route('GET', statusPath(UPID_START, 'pve2'), data({ status: 'stopped', exitstatus: 'q35 machine model is not enabled' }));
    server.route('GET', logPath(UPID_START, 'pve2'), data([
      { n: 1, t: 'kvm: -device vfio-pci,host=0000:01:00.0,id=hostpci0,bus=ich9-pcie-port-1: q35 machine model is not enabled' },
      { n: 2, t: 'TASK ERROR: q35 machine model is not enabled' },
    ], { total: 2 }));
    const { client } = clientFor(server);
    const err = await client.waitTask(UPID_START).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect(err).toMatchObject({ code: 'E_TASK_FAILED', exitstatus: 'q35 machine model is not enabled', upid: UPID_START });
    expect((err as TaskFailedError).log).toHaveLength(2);
    expect((err as Error).message).toContain('TASK ERROR: q35 machine model is not enabled');
    expect((err as TaskFailedError).context.node).toBe('pve2');
    await client.close();
  });

  it('an accepted POST whose task fails is a failure (the root check runs in the worker)', async () => {
    server.route('POST', '/nodes/pve1/qemu/101/config', data(UPID_CFG));
    server.route('GET', statusPath(UPID_CFG, 'pve1'), data({ status: 'stopped', exitstatus: "only root can set 'hostpci0' config for non-mapped devices" }));
    server.route('GET', logPath(UPID_CFG, 'pve1'), data([{ n: 1, t: "TASK ERROR: only root can set 'hostpci0' config for non-mapped devices" }], { total: 1 }));
    const { client } = clientFor(server);
    await expect(client.updateVmConfig('pve1', 101, { set: { machine: 'q35' }, delete: [], digest: 'd1' }))
      .rejects.toMatchObject({ code: 'E_TASK_FAILED', message: expect.stringContaining('only root can set') });
    const post = server.requestsTo('POST', '/nodes/pve1/qemu/101/config')[0];
    expect(post?.form).toEqual({ machine: 'q35', digest: 'd1' });
    await client.close();
  });

  it('reads the tail of a long log', async () => {
    server.route('GET', statusPath(UPID_CFG, 'pve1'), data({ status: 'stopped', exitstatus: 'boom' }));
    server.route('GET', logPath(UPID_CFG, 'pve1'), (req) => {
      const start = Number(req.query.start);
      const limit = Number(req.query.limit);
      const lines = Array.from({ length: 900 }, (_, i) => ({ n: i + 1, t: `line ${i + 1}` })).slice(start, start + limit);
      return data(lines, { total: 900 });
    });
    const { client } = clientFor(server);
    const err = (await client.waitTask(UPID_CFG).catch((e: unknown) => e)) as TaskFailedError;
    expect(err.log.at(-1)).toBe('line 900');
    expect(err.log).toHaveLength(10);
    await client.close();
  });

  it('gives up after the timeout', async () => {
    server.route('GET', statusPath(UPID_CFG, 'pve1'), data({ status: 'running' }));
    const { client } = clientFor(server);
    await expect(client.waitTask(UPID_CFG, { timeoutMs: 300, pollMs: 100 })).rejects.toMatchObject({ code: 'E_API_TIMEOUT' });
    expect(server.requests).toHaveLength(3);
    await client.close();
  });

  it('shutdown sends timeout and forceStop as 1/0', async () => {
    const UPID_SD = 'UPID:pve1:00001235:000ABCDE:66F0A1B3:qmshutdown:101:svc@pve!deploy:';
    server.route('POST', '/nodes/pve1/qemu/101/status/shutdown', data(UPID_SD));
    server.route('GET', statusPath(UPID_SD, 'pve1'), data({ status: 'stopped', exitstatus: 'OK' }));
    const { client } = clientFor(server);
    await client.shutdownVm('pve1', 101, { timeout: 120, forceStop: false });
    expect(server.requestsTo('POST', '/nodes/pve1/qemu/101/status/shutdown')[0]?.form).toEqual({ timeout: '120', forceStop: '0' });
    await client.close();
  });
});
