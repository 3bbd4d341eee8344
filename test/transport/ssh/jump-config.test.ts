/**
 * The whole path as an operator has it: inventory nodes named by ssh alias
 * only, an ssh_config (-F) with HostName, ProxyJump, IdentityFile and
 * UserKnownHostsFile, through the engine's Connections, over real sockets.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Connections, type ConnectionOptions } from '../../../src/engine/connections.js';
import type { EngineEvent } from '../../../src/engine/types.js';
import { HostKeyError } from '../../../src/errors.js';
import { Cluster } from '../../../src/inventory/schema.js';
import { SecretStore } from '../../../src/inventory/secrets.js';
import { cmd, render, type Script } from '../../../src/transport/shell.js';
import { sharedJumpPool } from '../../../src/transport/ssh/jump.js';
import { fixtureKey } from './fixtures.js';
import { LoopbackSshServer } from './jump-server.js';
import { newKeyPair } from './test-server.js';

const HOSTNAME = render(cmd(['hostname'])) as Script;
const userKey = newKeyPair();

let bastion: LoopbackSshServer;
let nodes: LoopbackSshServer[];
let dir: string;
let conn: Connections | undefined;
const events: EngineEvent[] = [];
const realHome = process.env.HOME;

beforeAll(async () => {
  bastion = await LoopbackSshServer.start({ name: 'bastion', authorizedKeys: [userKey.public], egress: '127.0.0.2' });
  nodes = await Promise.all(['pve-a', 'pve-b', 'pve-c'].map((name) => LoopbackSshServer.start({ name, authorizedKeys: [userKey.public], onlyFrom: '127.0.0.2' })));
  for (const n of nodes) bastion.route(`${n.name}.internal`, n);
});
afterAll(async () => {
  await Promise.all([bastion, ...nodes].map((s) => s.stop()));
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pvpt-jumpcfg-'));
  // ~ is this folder, so nothing of the real user's ~/.ssh is read.
  process.env.HOME = dir;
  events.length = 0;
  await writeFile(join(dir, 'id_test'), userKey.private, { mode: 0o600 });
  await writeKnownHosts(bastion.hostKeyBlob);
  await writeFile(join(dir, 'ssh_config'), [
    'Host bastion',
    '    HostName 127.0.0.1',
    `    Port ${bastion.port}`,
    '    User jump',
    '    ProxyJump none',
    'Host pve-c',
    '    UserKnownHostsFile /dev/null',
    'Host pve-*',
    '    HostName %h.internal',
    '    ProxyJump bastion',
    `    UserKnownHostsFile ${dir}/known_hosts`,
    'Host *',
    `    IdentityFile ${dir}/id_test`,
    '    IdentitiesOnly yes',
    '',
  ].join('\n'));
});
afterEach(async () => {
  if (realHome === undefined) delete process.env.HOME;
  else process.env.HOME = realHome;
  await conn?.closeAll();
  conn = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function writeKnownHosts(bastionKey: Buffer): Promise<void> {
  await writeFile(join(dir, 'known_hosts'), [
    `[127.0.0.1]:${bastion.port} ssh-ed25519 ${bastionKey.toString('base64')}`,
    ...nodes.map((n) => `${n.name}.internal ssh-ed25519 ${n.hostKeyBlob.toString('base64')}`),
    '',
  ].join('\n'));
}

function connections(): Connections {
  const opts = { secrets: new SecretStore({}), acceptNewHostKeys: false, emit: (e: EngineEvent) => events.push(e), sshConfig: join(dir, 'ssh_config') };
  conn = new Connections(opts as ConnectionOptions);
  return conn;
}

const cluster = () => Cluster.parse({ name: 'lab', nodes: nodes.map((n) => ({ name: n.name, ssh: { host: n.name } })) });

describe('inventory by ssh alias, ProxyJump from ssh_config', () => {
  it('reaches every node through one bastion connection', async () => {
    const c = cluster();
    const conns = connections();
    const authBefore = bastion.authenticated;
    const hosts = await Promise.all(c.nodes.slice(0, 2).map((n) => conns.ssh(c, n)));
    expect(await Promise.all(hosts.map(async (h) => (await h.exec(HOSTNAME)).stdout))).toEqual(['pve-a\n', 'pve-b\n']);
    expect(bastion.authenticated - authBefore).toBe(1);
    expect(await conns.connectionCount()).toBe(3);
    await conns.closeAll();
    expect(sharedJumpPool.openHops).toBe(0);
  });

  it('keeps known_hosts checking when ssh_config points it at /dev/null, and says so', async () => {
    const c = cluster();
    const conns = connections();
    // pve-c's /dev/null falls back to ~/.ssh/known_hosts (empty here): refused, not trusted.
    const err = await conns.ssh(c, c.nodes[2]!).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).message).toContain('is not known');
    expect(events.some((e) => e.type === 'warning' && e.message.includes('/dev/null would turn host key checks off'))).toBe(true);
  });

  it('refuses a changed bastion key for every node behind it', async () => {
    await writeKnownHosts(fixtureKey('pve1_ed25519'));
    const c = cluster();
    const conns = connections();
    const nodeConns = nodes[0]!.connections;
    const err = await conns.ssh(c, c.nodes[0]!).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(HostKeyError);
    expect((err as HostKeyError).message).toMatch(/^jump host bastion: host key of 127\.0\.0\.1:\d+ has CHANGED/);
    expect(nodes[0]!.connections).toBe(nodeConns);
  });

  it('lets the inventory switch ssh_config off for a node', async () => {
    const c = Cluster.parse({ name: 'lab', nodes: [{ name: 'pve-a', ssh: { host: 'pve-a', useSshConfig: false, identityFile: join(dir, 'id_test') } }] });
    const err = await connections().ssh(c, c.nodes[0]!).then(() => undefined, (e: unknown) => e);
    // Without ssh_config "pve-a" is just a name nobody resolves.
    expect((err as { code?: string }).code).toBe('E_SSH_CONNECT');
    expect(bastion.forwarded.filter((n) => n === 'pve-a')).toEqual([]);
  });
});
