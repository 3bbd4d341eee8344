/**
 * Host-key checking cannot be switched off by any spelling (issue 14, item 5),
 * and local SSH files are trusted by OpenSSH's own rules (file-trust.ts cites
 * them: readconf.c SSHCONF_CHECKPERM "Bad owner or permissions on %s",
 * authfile.c sshkey_perm_ok "Permissions 0%3.3o for '%s' are too open").
 */
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SshError } from '../../../src/errors.js';
import { checkHostKey } from '../../../src/transport/ssh/host-key-check.js';
import { badOwnerOrPermissions, keyTooOpen, readPrivateKey } from '../../../src/transport/ssh/file-trust.js';
import { loadSshConfig } from '../../../src/transport/ssh/ssh-config-load.js';
import { resolveSshTarget } from '../../../src/transport/ssh/resolve-target.js';
import { parseSshConfig } from '../../../src/transport/ssh/ssh-config.js';
import { fixtureKey } from './fixtures.js';

const KEY = fixtureKey('pve1_new_ed25519');
const target = { node: 'pve1', host: 'pve1.example.com', port: 22 };

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pvpt-trust-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

const rejection = async (p: Promise<unknown>): Promise<SshError> => {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SshError);
  return err as SshError;
};

describe('known_hosts that hold no keys never let a key through', () => {
  const spellings = async (): Promise<string[]> => {
    const link = join(dir, 'known_hosts_link');
    await symlink('/dev/null', link);
    const chain = join(dir, 'chain');
    await symlink(link, chain);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    return ['/dev/null', '/dev//null', '/dev/./null', '/dev/../dev/null', link, chain, '/dev/zero', fifo, dir];
  };

  it('refuses every spelling of /dev/null, devices, FIFOs and directories, even with acceptNew', async () => {
    for (const path of await spellings()) {
      const err = await rejection(checkHostKey({ knownHosts: path, acceptNew: true }, target, KEY));
      expect(err.code, path).toBe('E_KNOWN_HOSTS');
      expect(err.message, path).toMatch(/holds no host keys and records none.*refused/);
      expect(err.context.fix).toMatch(/pin hostKey\.fingerprint/);
    }
  });

  it('names the resolved target of a link', async () => {
    const link = join(dir, 'kh');
    await symlink('/dev/null', link);
    const err = await rejection(checkHostKey({ knownHosts: link, acceptNew: true }, target, KEY));
    expect(err.message).toContain(`${link} (/dev/null) is a character device`);
  });

  it('a missing file is still "every host unknown", learnt only with acceptNew', async () => {
    const path = join(dir, 'new_known_hosts');
    await rejection(checkHostKey({ knownHosts: path }, target, KEY));
    await checkHostKey({ knownHosts: path, acceptNew: true }, target, KEY);
    expect(await readFile(path, 'utf8')).toContain('pve1.example.com ssh-ed25519 ');
  });

  it('refuses a known_hosts that group or others can write', async () => {
    const path = join(dir, 'known_hosts');
    await writeFile(path, '');
    await chmod(path, 0o664);
    const err = await rejection(checkHostKey({ knownHosts: path, acceptNew: true }, target, KEY));
    expect(err.message).toMatch(/Bad owner or permissions on known_hosts .*mode 0664 is writable by group or others/);
  });

  it('ssh_config UserKnownHostsFile /dev//null or /dev/./null falls back to ~/.ssh/known_hosts, like /dev/null', () => {
    for (const v of ['/dev/null', '/dev//null', '/dev/./null']) {
      const t = resolveSshTarget({ host: 'pve1' }, { files: [{ path: 'cfg', entries: parseSshConfig(`Host *\n  UserKnownHostsFile ${v}\n`) }] }, { home: '/home/op', localUser: 'op', env: {}, acceptNewHostKeys: true });
      expect(t.hostKey, v).toEqual({ knownHosts: '~/.ssh/known_hosts', acceptNew: true });
      expect(t.notes.join('\n'), v).toMatch(/would turn host key checks off/);
    }
  });
});

describe("OpenSSH's rules for config and key files", () => {
  it('the rules themselves (uid 1000 as the user)', () => {
    expect(badOwnerOrPermissions({ uid: 1000, mode: 0o100644 }, 1000)).toBeNull();
    expect(badOwnerOrPermissions({ uid: 0, mode: 0o100644 }, 1000)).toBeNull();
    expect(badOwnerOrPermissions({ uid: 1001, mode: 0o100644 }, 1000)).toMatch(/owned by uid 1001/);
    expect(badOwnerOrPermissions({ uid: 1000, mode: 0o100664 }, 1000)).toMatch(/writable by group/);
    expect(badOwnerOrPermissions({ uid: 1000, mode: 0o100646 }, 1000)).toMatch(/writable by group or others/);
    expect(keyTooOpen({ uid: 1000, mode: 0o100600 }, 1000)).toBeNull();
    expect(keyTooOpen({ uid: 1000, mode: 0o100640 }, 1000)).toMatch(/0640 are too open/);
    // A key owned by someone else is not checked (sshkey_perm_ok: "then we don't care").
    expect(keyTooOpen({ uid: 0, mode: 0o100644 }, 1000)).toBeNull();
  });

  it('~/.ssh/config and Include files writable by others are refused; -F and the system file are not checked', async () => {
    const ssh = join(dir, '.ssh');
    await mkdir(ssh);
    await writeFile(join(ssh, 'config'), 'Include extra.conf\nHost pve1\n  User root\n');
    await writeFile(join(ssh, 'extra.conf'), 'Host pve2\n  User root\n');
    await chmod(join(ssh, 'config'), 0o600);
    await chmod(join(ssh, 'extra.conf'), 0o666);
    const inc = await rejection(loadSshConfig({ home: dir, systemFile: false }));
    expect(inc.message).toMatch(/Bad owner or permissions on .*extra\.conf: mode 0666/);
    await chmod(join(ssh, 'extra.conf'), 0o644);
    await loadSshConfig({ home: dir, systemFile: false });
    await chmod(join(ssh, 'config'), 0o620);
    const user = await rejection(loadSshConfig({ home: dir, systemFile: false }));
    expect(user.message).toMatch(/Bad owner or permissions on .*\.ssh\/config: mode 0620/);
    // -F FILE is read without the check (ssh.c passes SSHCONF_USERCONF only), its Include files with it.
    const f = join(dir, 'f.conf');
    await writeFile(f, 'Host x\n  User root\n');
    await chmod(f, 0o666);
    await loadSshConfig({ home: dir, file: f, systemFile: false });
    const sys = join(dir, 'ssh_config');
    await writeFile(sys, 'Host y\n  User root\n');
    await chmod(sys, 0o666);
    await chmod(join(ssh, 'config'), 0o600);
    await loadSshConfig({ home: dir, systemFile: sys });
  });

  it('a private key the user owns that others can read is refused with the mode', async () => {
    const key = join(dir, 'id_ed25519');
    await writeFile(key, 'not really a key\n');
    await chmod(key, 0o644);
    await expect(readPrivateKey(key)).rejects.toThrow(/0644 are too open/);
    await chmod(key, 0o600);
    expect((await readPrivateKey(key)).toString()).toBe('not really a key\n');
  });
});
