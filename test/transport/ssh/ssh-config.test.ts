import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SshError } from '../../../src/errors.js';
import { resolveSshTarget, parseProxyJump, type ResolveContext, type SshTargetSpec } from '../../../src/transport/ssh/resolve-target.js';
import { evaluateSshConfig, expandPathValue, parseSshConfig, patternListMatch, type SshConfig } from '../../../src/transport/ssh/ssh-config.js';
import { loadSshConfig } from '../../../src/transport/ssh/ssh-config-load.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/ssh_config');
/** Each fixture folder is a home directory with .ssh/config (and what it includes). */
const home = (name: string): string => join(FIXTURES, name);
const load = (name: string): Promise<SshConfig> => loadSshConfig({ home: home(name), systemFile: false });

function ctx(name: string, over: Partial<ResolveContext> = {}): ResolveContext {
  return { home: home(name), localUser: 'operator', env: { SSH_AUTH_SOCK: '/run/user/1000/agent.sock' }, acceptNewHostKeys: false, ...over };
}

async function resolve(name: string, spec: SshTargetSpec, over: Partial<ResolveContext> = {}) {
  return resolveSshTarget(spec, await load(name), ctx(name, over));
}

async function configError(p: Promise<unknown>): Promise<SshError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SshError);
  expect((err as SshError).code).toBe('E_SSH_CONFIG');
  return err as SshError;
}

describe('a typical ~/.ssh/config', () => {
  it('fills HostName, User and keys of an alias; first value wins, IdentityFile accumulates', async () => {
    const t = await resolve('basic', { host: 'pve1' });
    expect(t).toMatchObject({ name: 'pve1', host: '10.20.0.11', port: 22, user: 'admin', agentUse: 'fallback', jumps: [] });
    expect(t.identityFiles).toEqual([join(home('basic'), '.ssh/id_pve'), join(home('basic'), '.ssh/id_ed25519')]);
    expect(t.hostKey).toEqual({ knownHosts: '~/.ssh/known_hosts', acceptNew: false });
  });

  it('matches Host against the name as written, not the HostName it becomes', async () => {
    const t = await resolve('basic', { host: 'pve2' });
    expect(t).toMatchObject({ host: 'pve2.lab.example.net', port: 2222, user: 'nobody-wins-here' });
  });

  it('applies a wildcard block to an address written in the inventory', async () => {
    const t = await resolve('basic', { host: '10.20.0.5' });
    expect(t).toMatchObject({ host: '10.20.0.5', user: 'ops', agentUse: 'never' });
    expect(t.hostKey).toEqual({ knownHosts: join(home('basic'), '.ssh/known_hosts.lab'), acceptNew: false });
  });

  it('lets the inventory win over every ssh_config value', async () => {
    const t = await resolve('basic', {
      host: 'pve1', port: 2200, user: 'root', identityFile: '/keys/inv', agent: true, hostKey: { fingerprint: 'SHA256:' + 'A'.repeat(43) },
    });
    expect(t).toMatchObject({ host: '10.20.0.11', port: 2200, user: 'root', identityFiles: ['/keys/inv'], identityFromInventory: true, agentUse: 'always' });
    expect(t.hostKey).toEqual({ fingerprint: 'SHA256:' + 'A'.repeat(43) });
  });

  it('leaves a host no block names to the defaults (root, port 22, ~/.ssh/known_hosts)', async () => {
    const t = resolveSshTarget({ host: 'pve9' }, { files: [] }, ctx('basic'));
    expect(t).toMatchObject({ host: 'pve9', port: 22, user: 'root', identityFiles: [], agentUse: 'fallback', agentSocket: '/run/user/1000/agent.sock' });
  });

  it('passes the run\'s accept-new setting to known_hosts policies', async () => {
    const t = await resolve('basic', { host: 'pve1' }, { acceptNewHostKeys: true });
    expect(t.hostKey).toEqual({ knownHosts: '~/.ssh/known_hosts', acceptNew: true });
  });
});

describe('Include', () => {
  it('reads conf.d/*.conf in sorted order and skips dotfiles', async () => {
    const t = await resolve('include', { host: 'lab-7' });
    expect(t).toMatchObject({ host: 'lab-7.lab.internal', user: 'lab', port: 2201 });
  });

  it('applies a file included inside a Host block only to that host, with its own sections', async () => {
    const t = await resolve('include', { host: 'pve-site' });
    expect(t).toMatchObject({ host: '192.0.2.40', user: 'site', port: 22 });
    expect(t.jumps.map((j) => j.host)).toEqual(['bastion.site.example']);
    const other = await resolve('include', { host: 'pve-site-other' });
    expect(other.user).toBe('root');
  });

  it('stops an Include loop instead of recursing forever', async () => {
    const err = await configError(load('include-loop'));
    expect(err.message).toContain('Include nested more than 16 deep');
  });

  it('reads the system file after the user file, with its drop-ins', async () => {
    const cfg = await loadSshConfig({ home: home('system'), systemFile: join(home('system'), 'etc/ssh_config') });
    const t = resolveSshTarget({ host: 'pve-sys' }, cfg, ctx('system'));
    expect(t).toMatchObject({ user: 'fromuser', port: 2023 });
  });

  it('reads only the -F file, and insists that it exists', async () => {
    const cfg = await loadSshConfig({ home: home('system'), file: join(home('basic'), '.ssh/config'), systemFile: join(home('system'), 'etc/ssh_config') });
    expect(resolveSshTarget({ host: 'pve-sys' }, cfg, ctx('system')).port).toBe(22);
    const err = await configError(loadSshConfig({ home: home('basic'), file: join(home('basic'), 'missing') }));
    expect(err.message).toContain('does not exist');
  });

  it('treats a missing ~/.ssh/config as no configuration', async () => {
    expect(await loadSshConfig({ home: join(FIXTURES, 'no-such-home'), systemFile: false })).toEqual({ files: [] });
  });
});

describe('ProxyJump', () => {
  it('builds the chain from the first hop\'s own ProxyJump, each hop with its own settings', async () => {
    const t = await resolve('jump-chain', { host: 'pve-deep', identityFile: '/keys/node' });
    expect(t.host).toBe('10.99.1.5');
    expect(t.jumps.map((j) => [j.name, j.host, j.port, j.user])).toEqual([
      ['outer', '203.0.113.7', 2200, 'jumper'],
      ['inner', '10.99.0.1', 22, 'root'],
    ]);
    const [outer, inner] = t.jumps;
    expect(outer!.identityFiles).toEqual([join(home('jump-chain'), '.ssh/id_jump')]);
    expect(outer!.hostKey).toEqual({ knownHosts: join(home('jump-chain'), '.ssh/known_hosts.jump'), acceptNew: false });
    // A hop ssh_config says nothing about borrows the node's key and known_hosts.
    expect(inner!.identityFiles).toEqual(['/keys/node']);
    expect(inner!.hostKey).toEqual({ knownHosts: '~/.ssh/known_hosts', acceptNew: false });
  });

  it('takes user and port written in the hop over ssh_config, and ignores later hops\' own ProxyJump', async () => {
    const t = await resolve('jump-chain', { host: 'pve-two' });
    expect(t.jumps.map((j) => `${j.user}@${j.host}:${j.port}`)).toEqual(['admin@203.0.113.7:2201', 'root@10.99.0.1:22']);
  });

  it('lets the inventory replace or switch off the jump', async () => {
    expect((await resolve('jump-chain', { host: 'pve-deep', proxyJump: 'none' })).jumps).toEqual([]);
    const t = await resolve('jump-chain', { host: 'pve-deep', proxyJump: 'ops@10.0.0.1:2022' });
    // As with `ssh -J`, the new first hop still gets its own ssh_config, `Host * ProxyJump outer` included.
    expect(t.jumps.map((j) => `${j.user}@${j.host}:${j.port}`)).toEqual(['jumper@203.0.113.7:2200', 'ops@10.0.0.1:2022']);
    expect((await resolve('jump-chain', { host: 'pve-direct' })).jumps).toEqual([]);
  });

  it('parses the OpenSSH syntax and refuses anything else', () => {
    expect(parseProxyJump('a, admin@b:2222,ssh://c@[fd00::1]:22')).toEqual([
      { host: 'a' }, { host: 'b', user: 'admin', port: 2222 }, { host: 'fd00::1', user: 'c', port: 22 },
    ]);
    expect(parseProxyJump('None')).toEqual([]);
    for (const bad of ['', 'a,,b', 'bastion; reboot', 'a:0', 'a:70000', 'x@y@z', '$(id)']) {
      expect(() => parseProxyJump(bad), bad).toThrow(SshError);
    }
  });
});

describe('Match', () => {
  it('never runs Match exec, evaluates host/originalhost/user/localuser and final', async () => {
    const t = await resolve('match', { host: 'pve-m1' });
    expect(t).toMatchObject({ host: '10.30.0.1', user: 'root', port: 2022, agentSocket: join(home('match'), '.ssh/agent.sock') });
    expect(t.identityFiles).toEqual([join(home('match'), '.ssh/id_final')]);
    expect(t.notes.join('\n')).toContain('Match exec is not run');
    expect(t.notes.join('\n')).toContain('Match tagged is not supported');
  });

  it('honours a negated criterion', async () => {
    const t = await resolve('match', { host: 'pve-m1', user: 'admin' });
    expect(t.port).toBe(22);
  });

  it('does not match localuser for somebody else', async () => {
    const t = await resolve('match', { host: 'pve-m1' }, { localUser: 'someone' });
    expect(t.agentSocket).toBe('/run/user/1000/agent.sock');
  });
});

describe('hostile and odd files', () => {
  it('reads CRLF lines, tabs, `=` separators, any keyword case and quoted paths', async () => {
    const t = await resolve('crlf', { host: 'pve-crlf' });
    expect(t).toMatchObject({ host: '10.40.0.1', user: 'Admin.User', port: 2244 });
    expect(t.identityFiles).toEqual([join(home('crlf'), '.ssh/key with space')]);
  });

  it.each([
    ['evil-name', 'HostName "pve1;rm -rf /" is not a host name'],
    ['evil-port', 'Port "99999" is not a port number'],
    ['evil-user', 'is not a user name'],
    ['evil-proxycommand', 'sets ProxyCommand, which pve-passthrough does not run'],
    ['evil-token', 'token %C is not supported'],
    ['evil-loop-a', 'ProxyJump loops back'],
    ['evil-jump-syntax', 'is not [user@]host[:port]'],
  ])('refuses %s', async (host, message) => {
    const err = await configError(resolve('hostile', { host }));
    expect(err.message).toContain(message);
    expect(err.context.fix).toBeTruthy();
  });

  it('never lets ssh_config switch host key checks off', async () => {
    const t = await resolve('hostile', { host: 'evil-devnull' });
    expect(t.hostKey).toEqual({ knownHosts: '~/.ssh/known_hosts', acceptNew: false });
    expect(t.notes.join('\n')).toMatch(/UserKnownHostsFile \/dev\/null would turn host key checks off/);
    expect(t.notes.join('\n')).toMatch(/StrictHostKeyChecking no is ignored/);
  });

  it('lets the inventory override a refused ProxyCommand', async () => {
    expect((await resolve('hostile', { host: 'evil-proxycommand', proxyJump: 'none' })).jumps).toEqual([]);
  });

  it('matches a pathological pattern in linear time', async () => {
    const t = await resolve('hostile', { host: 'a'.repeat(5000) });
    expect(t.user).toBe('root');
  });
});

describe('building blocks', () => {
  it('pattern lists: negation wins, commas and case', () => {
    expect(patternListMatch('PVE1.lab', ['pve*', '!*.prod'])).toBe(true);
    expect(patternListMatch('pve1.prod', ['pve*,!*.prod'])).toBe(false);
    expect(patternListMatch('pve1', ['!pve2'])).toBe(false);
    expect(patternListMatch('pve12', ['pve?'])).toBe(false);
  });

  it('expands ~, %-tokens and ${ENV}, and refuses unknown ones', () => {
    const t = { home: '/home/op', localUser: 'op', originalHost: 'pve1', hostName: '10.0.0.1', user: 'root', port: 22, env: { KEYS: '/keys' } };
    expect(expandPathValue('~/.ssh/%n-%r@%h:%p_%u%%', t)).toBe('/home/op/.ssh/pve1-root@10.0.0.1:22_op%');
    expect(expandPathValue('${KEYS}/%d', t)).toBe('/keys//home/op');
    expect(expandPathValue('${NOPE}/x', t)).toBeInstanceOf(Error);
  });

  it('first value wins across files; `Match final` is a second pass', () => {
    const cfg: SshConfig = {
      files: [
        { path: 'a', entries: parseSshConfig('Host x\n  Port 1\nMatch final\n  User late\n') },
        { path: 'b', entries: parseSshConfig('Host *\n  Port 2\n  User early\n') },
      ],
    };
    const r = evaluateSshConfig(cfg, { host: 'x', localUser: 'op' });
    expect(r.options.get('port')).toEqual(['1']);
    expect(r.options.get('user')).toEqual(['early']);
    expect(r.matchedSpecific).toBe(true);
  });
});
