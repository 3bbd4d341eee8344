import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect as tcp, createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostKeyError, SshError } from '../../../src/errors.js';
import { cmd, render, withSudo, type Script } from '../../../src/transport/shell.js';
import { connectSsh, type SshConnectOptions } from '../../../src/transport/ssh/connect.js';
import type { SshHost } from '../../../src/transport/ssh/ssh-host.js';
import { newKeyPair, parsedKey, TestSshServer } from './test-server.js';

const s = (...argv: string[]): Script => render(cmd(argv)) as Script;

const userKey = newKeyPair();
const PASSPHRASE = 'correct horse battery staple';
const encryptedKey = newKeyPair({ passphrase: PASSPHRASE });

let server: TestSshServer;
let dir: string;
const open: SshHost[] = [];

beforeAll(async () => {
  server = await TestSshServer.start({ authorizedKeys: [userKey.public, encryptedKey.public] });
});
afterAll(async () => {
  await server.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pvpt-ssh-'));
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  await rm(dir, { recursive: true, force: true });
});

function base(over: Partial<SshConnectOptions> = {}): SshConnectOptions {
  return {
    node: 'pve1', host: '127.0.0.1', port: server.port, user: 'root', privateKey: userKey.private,
    hostKey: { fingerprint: server.fingerprint }, readyTimeoutMs: 5_000, ...over,
  };
}

async function connect(over: Partial<SshConnectOptions> = {}): Promise<SshHost> {
  const h = await connectSsh(base(over));
  open.push(h);
  return h;
}

async function failure(p: Promise<unknown>): Promise<SshError> {
  const err = await p.then((h) => { open.push(h as SshHost); return undefined; }, (e: unknown) => e);
  expect(err).toBeInstanceOf(SshError);
  return err as SshError;
}

function knownLine(hosts: string, blob: Buffer): string {
  return `${hosts} ssh-ed25519 ${blob.toString('base64')}\n`;
}

describe('host key policy over a real handshake', () => {
  it('accepts the pinned fingerprint', async () => {
    const h = await connect();
    expect((await h.exec(s('both'))).stdout).toBe('to stdout\n');
  });

  it('refuses a different pinned fingerprint before authenticating, showing the offered one', async () => {
    const authBefore = server.authenticated;
    const other = 'SHA256:' + 'A'.repeat(43);
    const err = await failure(connectSsh(base({ hostKey: { fingerprint: other } })));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain(server.fingerprint);
    expect(err.message).toContain(other);
    expect(err.context.node).toBe('pve1');
    expect(server.authenticated).toBe(authBefore);
  });

  it.each([
    ['a plain [host]:port entry', () => knownLine(`[127.0.0.1]:${server.port}`, server.hostKeyBlob)],
    ['a wildcard entry in a comma list', () => knownLine(`pve9,[127.0.0.*]:${server.port}`, server.hostKeyBlob)],
    ['a hashed entry', () => {
      const salt = randomBytes(20);
      const hash = createHmac('sha1', salt).update(`[127.0.0.1]:${server.port}`).digest();
      return knownLine(`|1|${salt.toString('base64')}|${hash.toString('base64')}`, server.hostKeyBlob);
    }],
  ])('accepts the key from known_hosts with %s', async (_name, line) => {
    const path = join(dir, 'known_hosts');
    await writeFile(path, `# fleet\n${line()}`);
    const h = await connect({ hostKey: { knownHosts: path } });
    expect((await h.exec(s('exit', '0'))).code).toBe(0);
  });

  it('refuses a changed key even with acceptNew, and does not touch the file', async () => {
    const path = join(dir, 'known_hosts');
    const stale = knownLine(`[127.0.0.1]:${server.port}`, parsedKey(newKeyPair().public).getPublicSSH());
    await writeFile(path, stale);
    const err = await failure(connectSsh(base({ hostKey: { knownHosts: path, acceptNew: true } })));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toMatch(/CHANGED/);
    expect(err.message).toContain(server.fingerprint);
    expect(err.message).toContain(`${path}:1`);
    expect(await readFile(path, 'utf8')).toBe(stale);
  });

  it('refuses an unknown host, then learns it with acceptNew so the next connect passes without it', async () => {
    const path = join(dir, 'sub', 'known_hosts');
    const err = await failure(connectSsh(base({ hostKey: { knownHosts: path } })));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain(server.fingerprint);
    expect(err.context.fix).toBe('re-run with --accept-new-host-keys or pin hostKey.fingerprint');

    await connect({ hostKey: { knownHosts: path, acceptNew: true } });
    expect(await readFile(path, 'utf8')).toBe(knownLine(`[127.0.0.1]:${server.port}`, server.hostKeyBlob));
    await connect({ hostKey: { knownHosts: path } });
  });
});

describe('exec over one connection', () => {
  it('opens exactly one connection for many execs, sequential and parallel', async () => {
    const before = server.connections;
    const h = await connect();
    for (let i = 0; i < 5; i++) expect((await h.exec(s('exit', String(i)))).code).toBe(i);
    const parallel = await Promise.all(Array.from({ length: 20 }, () => h.exec(s('both'))));
    expect(parallel.every((r) => r.code === 0 && r.stderr === 'to stderr\n')).toBe(true);
    expect(h.connectionsOpened).toBe(1);
    expect(server.connections - before).toBe(1);
  });

  it('returns exit codes with stdout and stderr kept apart', async () => {
    const h = await connect();
    expect(await h.exec(s('exit', '3'))).toEqual({ code: 3, stdout: 'some output\n', stderr: 'failing with 3 on purpose\n', timedOut: false });
    expect((await h.exec(s('no-such-command'))).code).toBe(127);
  });

  it('delivers stdin byte-exact: text, every byte value, and 1 MiB', async () => {
    const h = await connect();
    const text = "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet intel_iommu=on\"\n# it's ünïcode\n";
    expect((await h.exec(s('cat'), { stdin: text })).stdout).toBe(text);
    for (const input of [Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(1024 * 1024)]) {
      const r = await h.exec(s('sha256sum'), { stdin: input });
      expect(r.stdout).toBe(`${createHash('sha256').update(input).digest('hex')} ${input.length}\n`);
    }
    // no stdin: EOF is still sent, so a reader finishes
    expect(await h.exec(s('cat'))).toMatchObject({ code: 0, stdout: '' });
  });

  it('kills a command at its timeout, returns code null with the reason, and keeps the connection', async () => {
    const h = await connect();
    const abandoned = server.abandonedChannels;
    const r = await h.exec(s('sleep-forever'), { timeoutMs: 150 });
    expect(r.code).toBeNull();
    expect(r.timedOut).toBe(true);
    expect(r.stderr).toMatch(/timed out after 150 ms/);
    expect((await h.exec(s('exit', '0'))).code).toBe(0);
    await expect.poll(() => server.abandonedChannels).toBe(abandoned + 1);
    expect(h.connectionsOpened).toBe(1);
  });

  it('stops a command whose output exceeds the cap', async () => {
    const h = await connect({ maxOutputBytes: 1024 });
    expect((await h.exec(s('flood', '1024'))).stdout).toHaveLength(1024);
    const err = await h.exec(s('flood', '5000')).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(SshError);
    expect((err as SshError).code).toBe('E_SSH_OUTPUT_TOO_LARGE');
    expect((await h.exec(s('exit', '0'))).code).toBe(0);
  });

  it('wraps scripts in sudo -n sh -c for sudo hosts', async () => {
    const h = await connect({ user: 'ops', sudo: true });
    const script = s('cat');
    expect((await h.exec(script, { stdin: "it's" })).stdout).toBe("it's");
    expect(server.received.at(-1)).toBe(withSudo(script, true));
    expect(server.executed.at(-1)).toEqual({ script, sudo: true });
  });

  it('reports a dropped connection as code null, then refuses to exec until reconnected', async () => {
    const h = await connect();
    const pending = h.exec(s('sleep-forever'));
    await expect.poll(() => server.executed.at(-1)?.script).toBe(s('sleep-forever'));
    server.dropAll();
    const r = await pending;
    expect(r.code).toBeNull();
    expect(r.stderr).toMatch(/connection closed/);
    await expect.poll(() => h.isConnected).toBe(false);
    const err = await h.exec(s('exit', '0')).then(() => undefined, (e: unknown) => e);
    expect((err as SshError).code).toBe('E_SSH_CLOSED');
    await h.reconnect();
    expect((await h.exec(s('exit', '0'))).code).toBe(0);
    expect(h.connectionsOpened).toBe(2);
  });

  it('refuses exec after close', async () => {
    const h = await connect();
    await h.close();
    const err = await h.exec(s('exit', '0')).then(() => undefined, (e: unknown) => e);
    expect((err as SshError).code).toBe('E_SSH_CLOSED');
  });
});

describe('authentication and connection failures', () => {
  it('logs in with an encrypted key and its passphrase', async () => {
    const h = await connect({ privateKey: encryptedKey.private, passphrase: PASSPHRASE });
    expect((await h.exec(s('exit', '0'))).code).toBe(0);
  });

  it('says clearly when the passphrase is missing or wrong, without echoing it', async () => {
    const missing = await failure(connectSsh(base({ privateKey: encryptedKey.private })));
    expect(missing.code).toBe('E_SSH_KEY');
    expect(missing.context.fix).toMatch(/passphrase/);
    const wrong = await failure(connectSsh(base({ privateKey: encryptedKey.private, passphrase: 'wrong horse 12345' })));
    expect(wrong.code).toBe('E_SSH_KEY');
    expect(JSON.stringify(wrong.toJSON())).not.toContain('wrong horse');
  });

  it('names user, node and host:port when the key is not authorised', async () => {
    const err = await failure(connectSsh(base({ privateKey: newKeyPair().private, user: 'ops' })));
    expect(err.code).toBe('E_SSH_AUTH');
    expect(err.message).toContain('ops');
    expect(err.message).toContain(`pve1 at 127.0.0.1:${server.port}`);
    expect(err.context.fix).toMatch(/authorized_keys/);
  });

  it('names node and host:port when the connection is refused', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await failure(connectSsh(base({ port })));
    expect(err.code).toBe('E_SSH_CONNECT');
    expect(err.message).toBe(`connection refused by pve1 at 127.0.0.1:${port}`);
  });

  it('times out on a port that never speaks SSH', async () => {
    const silent: NetServer = createServer(() => { /* accept and say nothing */ });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await failure(connectSsh(base({ port, readyTimeoutMs: 200 })));
      expect(err.code).toBe('E_SSH_TIMEOUT');
      expect(err.message).toContain(`pve1 at 127.0.0.1:${port}`);
    } finally {
      silent.close();
      await new Promise((r) => setImmediate(r));
    }
  });
});

describe('closing a connection whose peer vanished', () => {
  it('close() ends and releases the socket when the peer never answers the goodbye (no FIN, no RST: a rebooting guest behind NAT)', async () => {
    // A TCP relay that can freeze: it stops forwarding and keeps both sockets open, as a vanished peer does.
    let frozen = false;
    const inbound: Socket[] = [];
    const relay: NetServer = createServer({ allowHalfOpen: true }, (c) => {
      inbound.push(c);
      const up = tcp(server.port, '127.0.0.1');
      c.on('data', (d) => { if (!frozen) up.write(d); });
      up.on('data', (d) => { if (!frozen) c.write(d); });
      c.on('error', () => undefined);
      up.on('error', () => undefined);
      c.on('close', () => up.destroy());
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
    const port = (relay.address() as AddressInfo).port;
    try {
      // Keepalive far beyond the test's timeout: only close() itself can let go.
      const h = await connectSsh(base({ port, hostKey: { fingerprint: server.fingerprint }, keepaliveIntervalMs: 600_000 }));
      expect((await h.exec(s('both'))).stdout).toBe('to stdout\n');
      frozen = true;
      // ssh2 sent its goodbye and a FIN; the relay answers neither, so only destroying the socket lets close() end.
      await h.close();
      expect(h.isConnected).toBe(false);
    } finally {
      frozen = false;
      for (const c of inbound) c.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    }
  });
});

describe('reconnecting from two places at once', () => {
  it('shares one attempt: no second client is left open after close() (the reboot wait and a lease renewal both reconnect)', async () => {
    const h = await connectSsh(base());
    await Promise.all([h.reconnect(), h.reconnect(), h.reconnect()]);
    expect((await h.exec(s('both'))).stdout).toBe('to stdout\n');
    await h.close();
    for (let i = 0; i < 100 && server.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(server.openConnections).toBe(0);
  });
});
