import { afterEach, describe, expect, it } from 'vitest';
import { RemoteCommandError, SshError } from '../../../src/errors.js';
import { withSudo, type Script } from '../../../src/transport/shell.js';
import { connectSsh } from '../../../src/transport/ssh/connect.js';
import { BOOT_ID_SCRIPT, REBOOT_SCRIPT, rebootAndWait, type RebootableHost } from '../../../src/transport/ssh/reboot.js';
import type { SshHost } from '../../../src/transport/ssh/ssh-host.js';
import type { ExecResult } from '../../../src/transport/types.js';
import { newKeyPair, TestSshServer, type RebootMode } from './test-server.js';

const userKey = newKeyPair();
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function setup(rebootMode: RebootMode, o: { sudo?: boolean; downMs?: number } = {}): Promise<{ server: TestSshServer; host: SshHost }> {
  const server = await TestSshServer.start({ authorizedKeys: [userKey.public], rebootMode, downMs: o.downMs ?? 150 });
  const host = await connectSsh({
    node: 'pve2', host: '127.0.0.1', port: server.port, user: o.sudo ? 'ops' : 'root', privateKey: userKey.private,
    hostKey: { fingerprint: server.fingerprint }, readyTimeoutMs: 2_000, sudo: o.sudo ?? false,
  });
  cleanup.push(() => host.close(), () => server.stop());
  return { server, host };
}

describe('rebootAndWait against a real SSH server', () => {
  it.each(['drop', 'exit0-then-drop'] as const)('waits for the new boot_id (%s)', async (mode) => {
    const { server, host } = await setup(mode);
    const before = server.bootId;
    const r = await rebootAndWait(host, { bootIdBefore: `${before}\n`, timeoutMs: 10_000, pollMs: 30 });
    expect(r.bootId).toBe(server.bootId);
    expect(r.bootId).not.toBe(before);
    expect(r.downMs).toBeGreaterThanOrEqual(0);
    expect(server.executed.map((e) => e.script)).toContain(REBOOT_SCRIPT);
    expect(host.isConnected).toBe(true);
    expect((await host.exec(BOOT_ID_SCRIPT)).stdout.trim()).toBe(r.bootId);
  });

  it('runs the reboot under sudo on sudo hosts', async () => {
    const { server, host } = await setup('drop', { sudo: true });
    await rebootAndWait(host, { bootIdBefore: server.bootId, timeoutMs: 10_000, pollMs: 30 });
    expect(server.received).toContain(withSudo(REBOOT_SCRIPT, true));
  });

  it('gives up with E_REBOOT_TIMEOUT when the node never comes back', async () => {
    const { server, host } = await setup('never');
    const err = await rebootAndWait(host, { bootIdBefore: server.bootId, timeoutMs: 400, pollMs: 30 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    const e = err as SshError;
    expect(e.code).toBe('E_REBOOT_TIMEOUT');
    expect(e.message).toMatch(/^pve2 did not come back with a new boot_id within 0.4 s/);
    expect(e.message).toMatch(/connection refused/);
    expect(e.context).toMatchObject({ node: 'pve2', step: 'reboot', fix: "check the node's console/BMC; the rollout of its cluster was stopped" });
  });

  it('keeps polling while the node answers with the old boot_id, then times out', async () => {
    const { server, host } = await setup('ignore');
    const err = await rebootAndWait(host, { bootIdBefore: server.bootId, timeoutMs: 300, pollMs: 20 }).then(() => undefined, (e: unknown) => e);
    expect((err as SshError).code).toBe('E_REBOOT_TIMEOUT');
    expect((err as SshError).message).toMatch(/old boot_id/);
    expect(server.executed.filter((e) => e.script === BOOT_ID_SCRIPT).length).toBeGreaterThan(1);
  });

  it('fails at once when the reboot command is refused', async () => {
    const { server, host } = await setup('fail', { sudo: true });
    const err = await rebootAndWait(host, { bootIdBefore: server.bootId, timeoutMs: 5_000, pollMs: 20 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect((err as RemoteCommandError).message).toMatch(/exit 1: sudo: a password is required/);
    expect(server.executed.filter((e) => e.script === BOOT_ID_SCRIPT)).toHaveLength(0);
  });
});

/** A scripted host and a fake clock: checks the backoff and the deadline without waiting. */
function fakeHost(script: { connectOkFrom: number; bootIds: string[] }) {
  let t = 0;
  let attempts = 0;
  let connected = true;
  const sleeps: number[] = [];
  const host: RebootableHost = {
    node: 'pve3',
    get isConnected() { return connected; },
    async exec(s: Script): Promise<ExecResult> {
      if (s === REBOOT_SCRIPT) { connected = false; return { code: null, stdout: '', stderr: '' }; }
      const id = script.bootIds.shift() ?? 'not-a-boot-id';
      return { code: 0, stdout: `${id}\n`, stderr: '' };
    },
    async reconnect() {
      attempts++;
      t += 5;
      if (t < script.connectOkFrom) throw new SshError('E_SSH_CONNECT', 'connection refused by pve3 at 10.0.0.3:22');
      connected = true;
    },
  };
  return {
    host, sleeps,
    get attempts() { return attempts; },
    now: () => t,
    sleep: async (ms: number) => { sleeps.push(ms); t += ms; },
  };
}

describe('rebootAndWait timing (fake clock)', () => {
  const OLD = '11111111-2222-3333-4444-555555555555';
  const NEW = '66666666-7777-8888-9999-aaaaaaaaaaaa';

  it('backs off exponentially up to maxPollMs and reports the time down', async () => {
    const f = fakeHost({ connectOkFrom: 3_000, bootIds: [NEW] });
    const r = await rebootAndWait(f.host, { bootIdBefore: OLD, timeoutMs: 60_000, pollMs: 100, maxPollMs: 1_000, now: f.now, sleep: f.sleep });
    expect(r).toEqual({ bootId: NEW, downMs: f.now() });
    expect(f.sleeps.slice(0, 6)).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(f.now()).toBeGreaterThanOrEqual(3_000);
  });

  it('never sleeps past the deadline', async () => {
    const f = fakeHost({ connectOkFrom: Infinity, bootIds: [] });
    const err = await rebootAndWait(f.host, { bootIdBefore: OLD, timeoutMs: 2_500, pollMs: 1_000, now: f.now, sleep: f.sleep }).then(() => undefined, (e: unknown) => e);
    expect((err as SshError).code).toBe('E_REBOOT_TIMEOUT');
    expect((err as SshError).message).toMatch(/within 2.5 s .*connection refused by pve3/);
    expect(f.now()).toBeLessThanOrEqual(2_500 + 5);
    expect(f.sleeps.every((ms) => ms > 0)).toBe(true);
  });

  it('does not accept the old boot_id or garbage as proof', async () => {
    const f = fakeHost({ connectOkFrom: 0, bootIds: [OLD, 'garbage', OLD, NEW] });
    const r = await rebootAndWait(f.host, { bootIdBefore: OLD, timeoutMs: 60_000, pollMs: 10, now: f.now, sleep: f.sleep });
    expect(r.bootId).toBe(NEW);
    // one reconnect after the reboot; the same connection is reused while it stays up
    expect(f.attempts).toBe(1);
  });
});
