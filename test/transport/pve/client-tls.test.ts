import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clientFor, data, TestServer } from './server.js';

let server: TestServer;
beforeEach(async () => {
  server = await TestServer.start();
  server.route('GET', '/version', data({ version: '9.1.9' }));
  server.route('POST', '/nodes/pve1/status', data(null));
});
afterEach(async () => server.close());

describe('TLS', () => {
  it('accepts the pinned fingerprint (any case)', async () => {
    const { client } = clientFor(server, { tls: { fingerprint: server.cert.fingerprint.toLowerCase() } });
    expect((await client.version()).version).toBe('9.1.9');
    await client.close();
  });

  it('rejects a wrong fingerprint after the handshake and sends no request', async () => {
    const wrong = Array.from({ length: 32 }, () => 'AB').join(':');
    const { client } = clientFor(server, { tls: { fingerprint: wrong } });
    const err = await client.rebootNode('pve1').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TLS_PIN' });
    expect((err as Error).message).toContain(wrong);
    expect((err as Error).message).toContain(server.cert.fingerprint);
    expect(server.connections).toBeGreaterThanOrEqual(1);
    expect(server.requests).toHaveLength(0);
    await client.close();
  });

  it('does not retry a pin mismatch on GET', async () => {
    const { client, sleeps } = clientFor(server, { tls: { fingerprint: Array(32).fill('00').join(':') } });
    await expect(client.version()).rejects.toMatchObject({ code: 'E_TLS_PIN' });
    expect(sleeps).toEqual([]);
    await client.close();
  });

  it('accepts a server signed by a given CA (PEM)', async () => {
    const { client } = clientFor(server, { tls: { ca: server.cert.cert } });
    expect((await client.version()).version).toBe('9.1.9');
    await client.close();
  });

  it('rejects a self-signed certificate against the system CAs', async () => {
    const { client, sleeps } = clientFor(server, { tls: { system: true } });
    const err = await client.version().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_TLS' });
    expect((err as Error & { context: { fix?: string } }).context.fix).toMatch(/fingerprint|CA/);
    expect(server.requests).toHaveLength(0);
    expect(sleeps).toEqual([]);
    await client.close();
  });

  it('keeps the connection alive across requests', async () => {
    const { client } = clientFor(server);
    for (let i = 0; i < 10; i++) await client.version();
    expect(server.requests).toHaveLength(10);
    // undici may open a second socket while the first is still settling; never one per request.
    expect(server.connections).toBeLessThanOrEqual(2);
    await client.close();
  });
});
