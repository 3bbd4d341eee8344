import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../src/errors.js';
import { TICKET_RENEW_AFTER_MS } from '../../../src/transport/pve/session.js';
import { clientFor, data, TestServer, TOKEN } from './server.js';

let server: TestServer;
beforeEach(async () => {
  server = await TestServer.start();
  server.route('GET', '/version', data({ version: '9.1.9', release: '9.1', repoid: 'abc' }));
});
afterEach(async () => server.close());

describe('token auth', () => {
  it('sends PVEAPIToken=USER@REALM!TOKENID=SECRET and unwraps {data}', async () => {
    const { client } = clientFor(server);
    expect(await client.version()).toEqual({ version: '9.1.9', release: '9.1', repoid: 'abc' });
    expect(server.requests[0]?.headers.authorization).toBe(`PVEAPIToken=${TOKEN.id}=${TOKEN.secret}`);
    expect(server.requests[0]?.headers.cookie).toBeUndefined();
    expect(client.requestCount).toBe(1);
    expect(client.authKind).toBe('token');
    await client.close();
  });

  it('sends no CSRF header with a token, even on writes', async () => {
    server.route('POST', '/nodes/pve1/status', data(null));
    const { client } = clientFor(server);
    await client.rebootNode('pve1');
    expect(server.requests[0]?.headers.csrfpreventiontoken).toBeUndefined();
    expect(server.requests[0]?.form).toEqual({ command: 'reboot' });
    await client.close();
  });
});

describe('ticket auth', () => {
  const user = { username: 'ops@pve', password: 'pa55-word' };

  it('logs in with a form POST, then uses the cookie; CSRF only on writes', async () => {
    server
      .route('POST', '/access/ticket', data({ username: 'ops@pve', ticket: 'PVE:ops@pve:T1', CSRFPreventionToken: 'C1' }))
      .route('POST', '/nodes/pve1/status', data(null));
    const { client } = clientFor(server, { auth: { ticket: user } });
    await client.version();
    await client.rebootNode('pve1');
    const [login, get, post] = server.requests;
    expect(login?.form).toEqual({ username: 'ops@pve', password: 'pa55-word' });
    expect(login?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(get?.headers.cookie).toBe('PVEAuthCookie=PVE:ops@pve:T1');
    expect(get?.headers.csrfpreventiontoken).toBeUndefined();
    expect(post?.headers.cookie).toBe('PVEAuthCookie=PVE:ops@pve:T1');
    expect(post?.headers.csrfpreventiontoken).toBe('C1');
    expect(server.requestsTo('POST', '/access/ticket')).toHaveLength(1);
    await client.close();
  });

  it('completes the TOTP second step with tfa-challenge and password=totp:<code>', async () => {
    server.route('POST', '/access/ticket', (req) =>
      req.form['tfa-challenge']
        ? data({ username: 'root@pam', ticket: 'PVE:root@pam:FULL', CSRFPreventionToken: 'C2' })
        : data({ username: 'root@pam', ticket: 'PVE:!tfa!partial', NeedTFA: 1 }));
    let asked = 0;
    const { client } = clientFor(server, {
      auth: { ticket: { username: 'root@pam', password: 'rootpw', totp: () => String(123456 + asked++) } },
    });
    await client.version();
    const logins = server.requestsTo('POST', '/access/ticket');
    expect(logins).toHaveLength(2);
    expect(logins[1]?.form).toEqual({ username: 'root@pam', 'tfa-challenge': 'PVE:!tfa!partial', password: 'totp:123456' });
    expect(server.requestsTo('GET', '/version')[0]?.headers.cookie).toBe('PVEAuthCookie=PVE:root@pam:FULL');
    await client.close();
  });

  it('fails clearly when TFA is required and no TOTP is configured', async () => {
    server.route('POST', '/access/ticket', data({ username: 'root@pam', ticket: 'PVE:!tfa!partial', NeedTFA: 1 }));
    const { client } = clientFor(server, { auth: { ticket: { username: 'root@pam', password: 'rootpw' } } });
    await expect(client.version()).rejects.toMatchObject({ code: 'E_API_AUTH', message: expect.stringContaining('TOTP') });
    await client.close();
  });

  it('renews the ticket with the current ticket as password before it expires', async () => {
    let n = 0;
    server.route('POST', '/access/ticket', () => {
      n++;
      return data({ username: 'ops@pve', ticket: `PVE:ops@pve:T${n}`, CSRFPreventionToken: `C${n}` });
    });
    let clock = 1_000_000;
    const { client } = clientFor(server, { auth: { ticket: user }, now: () => clock });
    await client.version();
    clock += TICKET_RENEW_AFTER_MS - 1;
    await client.version();
    expect(server.requestsTo('POST', '/access/ticket')).toHaveLength(1);
    clock += 2;
    await client.version();
    const logins = server.requestsTo('POST', '/access/ticket');
    expect(logins).toHaveLength(2);
    expect(logins[1]?.form).toEqual({ username: 'ops@pve', password: 'PVE:ops@pve:T1' });
    expect(server.requestsTo('GET', '/version').at(-1)?.headers.cookie).toBe('PVEAuthCookie=PVE:ops@pve:T2');
    await client.close();
  });

  it('logs in again once when the server answers 401 to a ticket', async () => {
    let n = 0;
    server
      .route('POST', '/access/ticket', () => data({ username: 'ops@pve', ticket: `PVE:T${++n}`, CSRFPreventionToken: 'C' }))
      .route('GET', '/nodes', (req) => (req.headers.cookie === 'PVEAuthCookie=PVE:T1'
        ? { status: 401, statusText: 'invalid ticket' }
        : data([{ node: 'pve1', status: 'online' }])));
    const { client } = clientFor(server, { auth: { ticket: user } });
    expect(await client.nodes()).toEqual([{ node: 'pve1', status: 'online' }]);
    expect(server.requestsTo('POST', '/access/ticket')).toHaveLength(2);
    await client.close();
  });

  it('reports a failed login once, without the password', async () => {
    server.route('POST', '/access/ticket', { status: 401, statusText: 'authentication failure' });
    const { client } = clientFor(server, { auth: { ticket: user } });
    const err = await client.version().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ code: 'E_API_AUTH', status: 401 });
    expect(JSON.stringify(err)).not.toContain('pa55-word');
    expect((err as Error).message).not.toContain('pa55-word');
    expect(server.requestsTo('POST', '/access/ticket')).toHaveLength(1);
    await client.close();
  });
});
