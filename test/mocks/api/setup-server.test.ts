import { setupServer } from 'msw/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimApi } from '../../../mocks/api/index.js';
import { clusterSpec, freshHardware, ROOT_PASSWORD, TOKEN } from './fixture.js';

// The raw handlers under msw's setupServer: code that calls global fetch sees the same API.
const api = createSimApi(clusterSpec(freshHardware()), { baseUrl: 'https://pve1.lab.example:8006/api2/json', taskMs: 1 });
const server = setupServer(...api.handlers);
const base = 'https://pve1.lab.example:8006/api2/json';
const tokenHeader = { authorization: `PVEAPIToken=${TOKEN.id}=${TOKEN.secret}` };

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterAll(() => {
  server.close();
  api.close();
});

async function waitTask(upid: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
  for (;;) {
    const res = await fetch(`${base}/nodes/pve1/tasks/${encodeURIComponent(upid)}/status`, { headers });
    const data = ((await res.json()) as { data: Record<string, unknown> }).data;
    if (data.status === 'stopped') return data;
    await api.waitForTasks();
  }
}

describe('msw setupServer + global fetch', () => {
  it('serves reads with a token', async () => {
    const res = await fetch(`${base}/nodes/pve1/qemu/101/config?current=1`, { headers: tokenHeader });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { data: Record<string, string> };
    expect(body.data).toMatchObject({ name: 'gpu-vm', ostype: 'l26' });
    expect(body.data.digest).toMatch(/^[0-9a-f]{40}$/);
  });

  it('runs the ticket flow and a root-only write end to end', async () => {
    const login = await fetch(`${base}/access/ticket`, { method: 'POST', body: new URLSearchParams({ username: 'root@pam', password: ROOT_PASSWORD }) });
    const { ticket, CSRFPreventionToken } = ((await login.json()) as { data: { ticket: string; CSRFPreventionToken: string } }).data;
    const headers = { cookie: `PVEAuthCookie=${encodeURIComponent(ticket)}`, csrfpreventiontoken: CSRFPreventionToken };
    const post = await fetch(`${base}/nodes/pve1/qemu/101/config`, {
      method: 'POST', headers, body: new URLSearchParams({ hostpci0: '0000:02:00.0', machine: 'q35' }),
    });
    expect(post.status).toBe(200);
    const upid = ((await post.json()) as { data: string }).data;
    expect(upid).toMatch(/:qmconfig:101:root@pam:$/);
    expect((await waitTask(upid, headers)).exitstatus).toBe('OK');
  });

  it('keeps the status line and 501 for unknown paths', async () => {
    const res = await fetch(`${base}/nodes/pve1/no-such`, { headers: tokenHeader });
    expect(res.status).toBe(501);
    expect(res.statusText).toBe("Method 'GET /nodes/pve1/no-such' not implemented");
  });
});
