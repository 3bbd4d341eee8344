import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpCode } from '../../../mocks/api/index.js';
import { ROOT_PASSWORD, startSim, TOKEN, TOTP_SECRET, type Sim } from './fixture.js';

let sim: Sim;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});

describe('TLS', () => {
  it('serves a certificate whose SHA-256 matches the reported fingerprint and /nodes ssl_fingerprint', async () => {
    expect(sim.server.fingerprint).toMatch(/^(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    const r = await sim.client.call('GET', '/nodes', { token: TOKEN });
    const nodes = r.body.data as Array<{ node: string; ssl_fingerprint: string }>;
    expect(nodes.map((n) => n.ssl_fingerprint)).toEqual([sim.server.fingerprint, sim.server.fingerprint, sim.server.fingerprint]);
  });

  it('is rejected by a client that does not trust the certificate', async () => {
    const plain = new Agent();
    await expect(undiciFetch(`${sim.server.url}/api2/json/version`, { dispatcher: plain })).rejects.toThrow();
    await plain.close();
  });
});

describe('API tokens', () => {
  it('accepts PVEAPIToken=ID=SECRET and PVEAPIToken ID=SECRET', async () => {
    const a = await sim.client.call('GET', '/cluster/status', { token: TOKEN });
    expect(a.status).toBe(200);
    const res = await undiciFetch(`${sim.server.url}/api2/json/version`, {
      headers: { authorization: `PVEAPIToken ${TOKEN.id}=${TOKEN.secret}` },
      dispatcher: sim.client.dispatcher,
    });
    expect(res.status).toBe(200);
  });

  it('answers 401 for a missing or wrong credential, with the message on the status line', async () => {
    const none = await sim.client.call('GET', '/version');
    expect(none.status).toBe(401);
    expect(none.statusText).toBe('No ticket');
    expect(none.body).toEqual({ data: null, message: 'No ticket\n' });
    const bad = await sim.client.call('GET', '/version', { token: { id: TOKEN.id, secret: 'nope' } });
    expect(bad.status).toBe(401);
  });

  it('refuses the login endpoint to a token (allowtoken 0)', async () => {
    const r = await sim.client.call('POST', '/access/ticket', { token: TOKEN, form: { username: 'root@pam', password: ROOT_PASSWORD } });
    expect(r.status).toBe(401);
    expect(r.statusText).toBe("URI '/access/ticket' not available with API token, need proper ticket.");
  });

  it('does not need a CSRF token for writes', async () => {
    const r = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { token: TOKEN, form: { description: 'via token' } });
    expect(r.status).toBe(200);
  });

  it('enforces per-token privileges with 403', async () => {
    const ro = { id: 'audit@pve!ro', secret: 'ro-secret' };
    expect((await sim.client.call('GET', '/nodes/pve1/qemu/101/config', { token: ro })).status).toBe(200);
    const w = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { token: ro, form: { cores: '2' } });
    expect(w.status).toBe(403);
    expect(w.statusText).toMatch(/^Permission check failed \(\/vms\/101, /);
  });
});

describe('tickets', () => {
  it('logs in with a form body (a password holding ; and & survives encoding) and works as cookie and header', async () => {
    const { ticket, csrf } = await sim.client.login('root@pam', ROOT_PASSWORD);
    expect(ticket).toMatch(/^PVE:root@pam:[0-9A-F]{8}::/);
    expect((await sim.client.call('GET', '/cluster/status', { ticket: { ticket } })).status).toBe(200);
    expect((await sim.client.call('GET', '/cluster/status', { ticket: { ticket, asHeader: true } })).status).toBe(200);
    expect((await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ticket: { ticket, csrf }, form: { cores: '6' } })).status).toBe(200);
  });

  it('accepts username plus realm', async () => {
    const r = await sim.client.call('POST', '/access/ticket', { form: { username: 'root', realm: 'pam', password: ROOT_PASSWORD } });
    expect(r.status).toBe(200);
    expect((r.body.data as { username: string }).username).toBe('root@pam');
  });

  it('requires the CSRF token on ticket writes', async () => {
    const { ticket } = await sim.client.login('root@pam', ROOT_PASSWORD);
    const r = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ticket: { ticket }, form: { cores: '2' } });
    expect(r.status).toBe(401);
    expect(r.statusText).toBe('Permission denied - invalid csrf token');
    const wrong = await sim.client.call('PUT', '/nodes/pve1/qemu/101/config', { ticket: { ticket, csrf: 'AAAA:bogus' }, form: { cores: '2' } });
    expect(wrong.status).toBe(401);
  });

  it('answers a wrong password with 401 authentication failure', async () => {
    const r = await sim.client.call('POST', '/access/ticket', { form: { username: 'root@pam', password: 'wrong' } });
    expect(r.status).toBe(401);
    expect(r.statusText).toBe('authentication failure');
    expect(r.body.data).toBeNull();
  });

  it('renews a ticket with the ticket as password', async () => {
    const { ticket } = await sim.client.login('root@pam', ROOT_PASSWORD);
    const renewed = await sim.client.login('root@pam', ticket);
    expect(renewed.ticket).not.toBe(ticket);
    expect((await sim.client.call('GET', '/version', { ticket: { ticket: renewed.ticket } })).status).toBe(200);
  });

  it('rejects a forged ticket', async () => {
    const r = await sim.client.call('GET', '/version', { ticket: { ticket: 'PVE:root@pam:66F0A1B2::Zm9yZ2Vk' } });
    expect(r.status).toBe(401);
  });
});

describe('TFA', () => {
  it('returns NeedTFA with a partial ticket that is no good for API calls, then completes with totp:<code>', async () => {
    const step1 = await sim.client.call('POST', '/access/ticket', { form: { username: 'ops@pve', password: 'ops-pass' } });
    expect(step1.status).toBe(200);
    const partial = step1.body.data as { ticket: string; NeedTFA: number };
    expect(partial.NeedTFA).toBe(1);
    expect((await sim.client.call('GET', '/version', { ticket: { ticket: partial.ticket } })).status).toBe(401);
    // A partial ticket cannot be renewed into a full one.
    expect((await sim.client.call('POST', '/access/ticket', { form: { username: 'ops@pve', password: partial.ticket } })).status).toBe(401);

    const wrong = await sim.client.call('POST', '/access/ticket', {
      form: { username: 'ops@pve', 'tfa-challenge': partial.ticket, password: 'totp:000000' },
    });
    expect(wrong.status).toBe(401);
    const step2 = await sim.client.call('POST', '/access/ticket', {
      form: { username: 'ops@pve', 'tfa-challenge': partial.ticket, password: 'totp:424242' },
    });
    expect(step2.status).toBe(200);
    const full = step2.body.data as { ticket: string; NeedTFA?: number };
    expect(full.NeedTFA).toBeUndefined();
    expect((await sim.client.call('GET', '/version', { ticket: { ticket: full.ticket } })).status).toBe(200);
  });

  it('verifies RFC 6238 codes from a secret', async () => {
    const step1 = await sim.client.call('POST', '/access/ticket', { form: { username: 'sec@pam', password: 'sec-pass' } });
    const partial = (step1.body.data as { ticket: string }).ticket;
    const code = totpCode(TOTP_SECRET, Date.now());
    const step2 = await sim.client.call('POST', '/access/ticket', {
      form: { username: 'sec@pam', 'tfa-challenge': partial, password: `totp:${code}` },
    });
    expect(step2.status).toBe(200);
  });
});

describe('request log', () => {
  it('records method, path and params with every secret redacted', async () => {
    sim.log.length = 0;
    await sim.client.login('root@pam', ROOT_PASSWORD);
    const step1 = await sim.client.call('POST', '/access/ticket', { form: { username: 'ops@pve', password: 'ops-pass' } });
    const partial = (step1.body.data as { ticket: string }).ticket;
    await sim.client.call('POST', '/access/ticket', { form: { username: 'ops@pve', 'tfa-challenge': partial, password: 'totp:424242' } });
    await sim.client.call('GET', '/nodes/pve1/qemu/101/config', { token: TOKEN, query: { current: '1' } });
    const text = JSON.stringify(sim.log);
    for (const secret of [ROOT_PASSWORD, 'ops-pass', '424242', partial, TOKEN.secret]) expect(text).not.toContain(secret);
    expect(sim.log[0]).toMatchObject({ method: 'POST', path: '/api2/json/access/ticket', params: { username: 'root@pam', password: '<redacted>' }, status: 200 });
    expect(sim.log[3]).toMatchObject({ method: 'GET', path: '/api2/json/nodes/pve1/qemu/101/config', params: { current: '1' } });
    expect(Number.isNaN(Date.parse(sim.log[0]?.time ?? ''))).toBe(false);
  });
});

describe('unknown paths', () => {
  it('answers 501 for paths and methods the API does not have', async () => {
    const r = await sim.client.call('GET', '/nodes/pve1/lxc', { token: TOKEN });
    expect(r.status).toBe(501);
    expect(r.statusText).toBe("Method 'GET /nodes/pve1/lxc' not implemented");
    expect((await sim.client.call('DELETE', '/nodes/pve1/qemu/101/config', { token: TOKEN })).status).toBe(501);
  });
});
