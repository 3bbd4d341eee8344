import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT_RULE_MESSAGE } from '../../../src/operations/vm/root-rule.js';
import { clientFor, data, TestServer, UPID_CFG } from './server.js';

const ROOT_UPID = 'UPID:pve1:0004A1B2:01C3D4E5:66F0A1B2:qmconfig:101:root@pam:';
let server: TestServer;
beforeEach(async () => {
  server = await TestServer.start();
  server.route('GET', '/nodes/pve1/qemu/101/config', data({ hostpci0: 'mapping=gpu-a,pcie=1', hostpci1: '0000:02:00.0', digest: 'd0' }));
});
afterEach(async () => server.close());

describe('the root rule', () => {
  it('refuses a raw host= write with only a token, before sending anything', async () => {
    const { client } = clientFor(server);
    const err = await client.updateVmConfig('pve1', 101, { set: { hostpci2: '0000:01:00,pcie=1' }, delete: [], digest: 'd0', before: {} }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_API_ROOT_ONLY' });
    expect((err as Error).message).toBe(ROOT_RULE_MESSAGE);
    expect(server.requests).toHaveLength(0);
    await client.close();
  });

  it('refuses deleting or replacing a raw entry (reads the config when not given)', async () => {
    const { client } = clientFor(server);
    await expect(client.updateVmConfig('pve1', 101, { set: {}, delete: ['hostpci1'] })).rejects.toMatchObject({ code: 'E_API_ROOT_ONLY' });
    await expect(client.updateVmConfig('pve1', 101, { set: { hostpci1: 'mapping=nic' }, delete: [] })).rejects.toMatchObject({ code: 'E_API_ROOT_ONLY' });
    expect(server.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
    await client.close();
  });

  it('lets a token write mapping= entries', async () => {
    server.route('POST', '/nodes/pve1/qemu/101/config', data(UPID_CFG));
    server.route('GET', `/nodes/pve1/tasks/${UPID_CFG}/status`, data({ status: 'stopped', exitstatus: 'OK' }));
    const { client } = clientFor(server);
    await client.updateVmConfig('pve1', 101, { set: { hostpci0: 'mapping=gpu-b,pcie=1', machine: 'q35' }, delete: ['hostpci3'], digest: 'd0' });
    const post = server.requestsTo('POST', '/nodes/pve1/qemu/101/config')[0];
    expect(post?.headers.authorization).toMatch(/^PVEAPIToken=/);
    expect(post?.form).toEqual({ hostpci0: 'mapping=gpu-b,pcie=1', machine: 'q35', delete: 'hostpci3', digest: 'd0' });
    await client.close();
  });

  it('sends raw writes through the root@pam ticket when rootTicket is set', async () => {
    server.route('POST', '/access/ticket', data({ username: 'root@pam', ticket: 'PVE:root@pam:R', CSRFPreventionToken: 'RC' }));
    server.route('POST', '/nodes/pve1/qemu/101/config', data(ROOT_UPID));
    server.route('GET', `/nodes/pve1/tasks/${ROOT_UPID}/status`, data({ status: 'stopped', exitstatus: 'OK' }));
    const { client } = clientFor(server, { rootTicket: { password: 'rootpw' } });
    expect(client.hasRootTicket).toBe(true);
    await client.updateVmConfig('pve1', 101, { set: { hostpci2: '0000:01:00,pcie=1' }, delete: ['hostpci1'], digest: 'd0' });
    const login = server.requestsTo('POST', '/access/ticket')[0];
    expect(login?.form).toEqual({ username: 'root@pam', password: 'rootpw' });
    const post = server.requestsTo('POST', '/nodes/pve1/qemu/101/config')[0];
    expect(post?.headers.authorization).toBeUndefined();
    expect(post?.headers.cookie).toBe('PVEAuthCookie=PVE:root@pam:R');
    expect(post?.headers.csrfpreventiontoken).toBe('RC');
    expect(server.requestsTo('GET', `/nodes/pve1/tasks/${ROOT_UPID}/status`)[0]?.headers.cookie).toBe('PVEAuthCookie=PVE:root@pam:R');
    // Reads still use the token.
    await client.vmConfig('pve1', 101);
    expect(server.requests.at(-1)?.headers.authorization).toMatch(/^PVEAPIToken=/);
    await client.close();
  });

  it('a root@pam ticket as the main identity writes raw entries itself', async () => {
    server.route('POST', '/access/ticket', data({ username: 'root@pam', ticket: 'PVE:root@pam:M', CSRFPreventionToken: 'MC' }));
    server.route('POST', '/nodes/pve1/qemu/101/config', data(null));
    const { client } = clientFor(server, { auth: { ticket: { username: 'root@pam', password: 'pw' } } });
    expect(await client.updateVmConfig('pve1', 101, { set: { hostpci2: '0000:01:00' }, delete: [] })).toBeNull();
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /access/ticket', 'POST /nodes/pve1/qemu/101/config']);
    await client.close();
  });

  it('refuses to set and delete the same key', async () => {
    const { client } = clientFor(server);
    await expect(client.updateVmConfig('pve1', 101, { set: { machine: 'q35' }, delete: ['machine'] })).rejects.toMatchObject({ code: 'E_INPUT' });
    expect(server.requests).toHaveLength(0);
    await client.close();
  });
});
