import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HostKeyError, SshError } from '../../../src/errors.js';
import { cmd, render, type Script } from '../../../src/transport/shell.js';
import { connectSsh, type SshConnectOptions } from '../../../src/transport/ssh/connect.js';
import { JumpPool, type JumpHop } from '../../../src/transport/ssh/jump.js';
import type { SshHost } from '../../../src/transport/ssh/ssh-host.js';
import { fixtureKey } from './fixtures.js';
import { LoopbackSshServer } from './jump-server.js';
import { newKeyPair } from './test-server.js';

const HOSTNAME = render(cmd(['hostname'])) as Script;
const userKey = newKeyPair();
const keys = [userKey.public];

let bastion: LoopbackSshServer;
let inner: LoopbackSshServer;
let nodes: LoopbackSshServer[];
let deep: LoopbackSshServer;
let dir: string;
let knownHosts: string;
let pool: JumpPool;
const open: SshHost[] = [];

beforeAll(async () => {
  // bastion (reachable) -> pve-a/b/c; bastion -> inner -> pve-d. Each only accepts its jump host's egress address.
  bastion = await LoopbackSshServer.start({ name: 'bastion', authorizedKeys: keys, egress: '127.0.0.2' });
  inner = await LoopbackSshServer.start({ name: 'inner', authorizedKeys: keys, onlyFrom: '127.0.0.2', egress: '127.0.0.3' });
  nodes = await Promise.all(['pve-a', 'pve-b', 'pve-c'].map((name) => LoopbackSshServer.start({ name, authorizedKeys: keys, onlyFrom: '127.0.0.2' })));
  deep = await LoopbackSshServer.start({ name: 'pve-d', authorizedKeys: keys, onlyFrom: '127.0.0.3' });
  for (const n of nodes) bastion.route(`${n.name}.internal`, n);
  bastion.route('inner.internal', inner);
  inner.route('pve-d.internal', deep);
});
afterAll(async () => {
  await Promise.all([bastion, inner, deep, ...nodes].map((s) => s.stop()));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pvpt-jump-'));
  knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, [
    `[127.0.0.1]:${bastion.port} ssh-ed25519 ${bastion.hostKeyBlob.toString('base64')}`,
    `inner.internal ssh-ed25519 ${inner.hostKeyBlob.toString('base64')}`,
    '',
  ].join('\n'));
  pool = new JumpPool();
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
  await rm(dir, { recursive: true, force: true });
});

function bastionHop(over: Partial<JumpHop> = {}): JumpHop {
  return { name: 'bastion', host: '127.0.0.1', port: bastion.port, user: 'jump', privateKey: userKey.private, hostKey: { knownHosts }, ...over };
}
function innerHop(over: Partial<JumpHop> = {}): JumpHop {
  return { name: 'inner', host: 'inner.internal', port: 22, user: 'jump', privateKey: userKey.private, hostKey: { knownHosts }, ...over };
}

function nodeOptions(server: LoopbackSshServer, route: readonly JumpHop[], over: Partial<SshConnectOptions> = {}): SshConnectOptions {
  return {
    node: server.name, host: `${server.name}.internal`, port: 22, user: 'root', privateKey: userKey.private,
    hostKey: { fingerprint: server.fingerprint }, readyTimeoutMs: 5_000, jump: { route, pool }, ...over,
  };
}

async function connect(o: SshConnectOptions): Promise<SshHost> {
  const h = await connectSsh(o);
  open.push(h);
  return h;
}

async function failure(p: Promise<SshHost>): Promise<SshError> {
  const err = await p.then((h) => { open.push(h); return undefined; }, (e: unknown) => e);
  expect(err).toBeInstanceOf(SshError);
  return err as SshError;
}

describe('nodes behind a jump host', () => {
  it('cannot be reached directly (the harness is honest)', async () => {
    const [a] = nodes;
    const refusedBefore = a!.refused;
    const err = await failure(connectSsh({ node: 'pve-a', host: '127.0.0.1', port: a!.port, user: 'root', privateKey: userKey.private, hostKey: { fingerprint: a!.fingerprint }, readyTimeoutMs: 5_000 }));
    expect(err.code).toBe('E_SSH_CONNECT');
    expect(a!.refused).toBe(refusedBefore + 1);
  });

  it('are reached through the jump host, each host key checked', async () => {
    const [a] = nodes;
    const h = await connect(nodeOptions(a!, [bastionHop()]));
    expect((await h.exec(HOSTNAME)).stdout).toBe('pve-a\n');
    expect(bastion.forwarded).toContain('pve-a.internal');
    expect(h.connectionsOpened).toBe(2);
  });

  it('share one jump connection, counted once', async () => {
    const authBefore = bastion.authenticated;
    const hosts = await Promise.all(nodes.map((n) => connect(nodeOptions(n, [bastionHop()]))));
    const names = await Promise.all(hosts.map(async (h) => (await h.exec(HOSTNAME)).stdout.trim()));
    expect(names).toEqual(['pve-a', 'pve-b', 'pve-c']);
    expect(bastion.authenticated - authBefore).toBe(1);
    expect(pool.connectionsOpened).toBe(1);
    expect(hosts.reduce((n, h) => n + h.connectionsOpened, 0)).toBe(nodes.length + 1);

    // The jump connection outlives the first nodes to close and goes with the last.
    await hosts[0]!.close();
    await hosts[1]!.close();
    expect(pool.openHops).toBe(1);
    expect((await hosts[2]!.exec(HOSTNAME)).stdout).toBe('pve-c\n');
    await hosts[2]!.close();
    expect(pool.openHops).toBe(0);
  });

  it('keep the jump connection across a reconnect (reboot wait)', async () => {
    const [a] = nodes;
    const h = await connect(nodeOptions(a!, [bastionHop()]));
    const authBefore = bastion.authenticated;
    await h.reconnect();
    expect((await h.exec(HOSTNAME)).stdout).toBe('pve-a\n');
    expect(bastion.authenticated).toBe(authBefore);
    expect(h.connectionsOpened).toBe(3);
  });

  it('follow a multi-hop chain', async () => {
    const h = await connect(nodeOptions(deep, [bastionHop(), innerHop()]));
    expect((await h.exec(HOSTNAME)).stdout).toBe('pve-d\n');
    expect(inner.forwarded).toContain('pve-d.internal');
    expect(h.connectionsOpened).toBe(3);
    expect(pool.openHops).toBe(2);
  });

  it('reuse the first hop of a chain for nodes behind it', async () => {
    const authBefore = bastion.authenticated;
    await connect(nodeOptions(deep, [bastionHop(), innerHop()]));
    await connect(nodeOptions(nodes[1]!, [bastionHop()]));
    expect(bastion.authenticated - authBefore).toBe(1);
  });
});

describe('refusals on every hop', () => {
  it('refuses a changed key on the jump host before authenticating or reaching the node', async () => {
    await writeFile(knownHosts, `[127.0.0.1]:${bastion.port} ssh-ed25519 ${fixtureKey('pve1_ed25519').toString('base64')}\n`);
    const [a] = nodes;
    const authBefore = bastion.authenticated;
    const nodeBefore = a!.connections;
    const err = await failure(connectSsh(nodeOptions(a!, [bastionHop()])));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toMatch(/^jump host bastion: host key of 127\.0\.0\.1:\d+ has CHANGED/);
    expect(err.message).toContain(bastion.fingerprint);
    expect(err.context.node).toBe('pve-a');
    expect(bastion.authenticated).toBe(authBefore);
    expect(a!.connections).toBe(nodeBefore);
    expect(pool.openHops).toBe(0);
  });

  it('refuses a changed key on the second hop of a chain', async () => {
    await writeFile(knownHosts, [
      `[127.0.0.1]:${bastion.port} ssh-ed25519 ${bastion.hostKeyBlob.toString('base64')}`,
      `inner.internal ssh-ed25519 ${fixtureKey('pve1_ed25519').toString('base64')}`,
      '',
    ].join('\n'));
    const innerAuth = inner.authenticated;
    const err = await failure(connectSsh(nodeOptions(deep, [bastionHop(), innerHop()])));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toMatch(/^jump host inner: host key of inner\.internal:22 has CHANGED/);
    expect(inner.authenticated).toBe(innerAuth);
    expect(pool.openHops).toBe(0);
  });

  it('refuses an unknown jump host unless new keys may be learned, then learns it', async () => {
    const hopKnown = join(dir, 'hop_known_hosts');
    const [a] = nodes;
    const err = await failure(connectSsh(nodeOptions(a!, [bastionHop({ hostKey: { knownHosts: hopKnown } })])));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain('is not known');

    const h = await connect(nodeOptions(a!, [bastionHop({ hostKey: { knownHosts: hopKnown, acceptNew: true } })]));
    expect((await h.exec(HOSTNAME)).stdout).toBe('pve-a\n');
    expect(await readFile(hopKnown, 'utf8')).toBe(`[127.0.0.1]:${bastion.port} ssh-ed25519 ${bastion.hostKeyBlob.toString('base64')}\n`);
  });

  it('checks a pinned jump host fingerprint', async () => {
    const [a] = nodes;
    const err = await failure(connectSsh(nodeOptions(a!, [bastionHop({ hostKey: { fingerprint: a!.fingerprint } })])));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain('does not match the pinned fingerprint');
  });

  it('checks the node behind the jump host end to end', async () => {
    const [a, b] = nodes;
    const err = await failure(connectSsh(nodeOptions(a!, [bastionHop()], { hostKey: { fingerprint: b!.fingerprint } })));
    expect(err).toBeInstanceOf(HostKeyError);
    expect(err.message).toContain(a!.fingerprint);
    expect(err.context.node).toBe('pve-a');
    expect(pool.openHops).toBe(0);
  });

  it('says when the jump host cannot reach the node', async () => {
    const err = await failure(connectSsh(nodeOptions(nodes[0]!, [bastionHop()], { host: 'nowhere.internal' })));
    expect(err.code).toBe('E_SSH_CONNECT');
    expect(err.message).toContain('jump host bastion cannot reach nowhere.internal:22');
    expect(pool.openHops).toBe(0);
  });

  it('names the jump host when authentication there fails', async () => {
    const other = newKeyPair();
    const err = await failure(connectSsh(nodeOptions(nodes[0]!, [bastionHop({ privateKey: other.private })])));
    expect(err.code).toBe('E_SSH_AUTH');
    expect(err.message).toMatch(/^jump host bastion: authentication as jump failed/);
  });
});
