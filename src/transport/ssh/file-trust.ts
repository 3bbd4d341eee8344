/**
 * Which local files the SSH layer may trust, by OpenSSH's own rules:
 *
 * - ssh_config: `~/.ssh/config` and every Include file are refused unless
 *   owned by root or the user and not writable by group or others
 *   (openssh-portable readconf.c read_config_file_depth, SSHCONF_CHECKPERM:
 *   `(sb.st_uid != 0 && sb.st_uid != getuid()) || (sb.st_mode & 022) != 0` →
 *   "Bad owner or permissions on %s"; ssh.c sets it for the user file, the
 *   Include branch ORs it in for every included file; `-F` and
 *   /etc/ssh/ssh_config are read without it).
 * - identity files: a key owned by the user with any group/other bit
 *   (`st.st_mode & 077`) is ignored (authfile.c sshkey_perm_ok:
 *   "Permissions 0%3.3o for '%s' are too open").
 * - known_hosts: the OpenSSH client checks no mode here; it is the trust
 *   anchor, so the tool applies the readconf rule to it as well, and it must
 *   be a regular file. `/dev/null` in any spelling (`/dev//null`,
 *   `/dev/./null`, a symlink to it) or any other device, FIFO or socket holds
 *   no keys and records none: it would switch host key checking off, so it
 *   is refused, --accept-new-host-keys or not.
 */
import { open, realpath, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { SshError } from '../../errors.js';
import { ErrorCode } from '../../error-codes.js';

const myUid = (): number => process.getuid?.() ?? 0;

function kind(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** readconf.c's SSHCONF_CHECKPERM rule; returns the problem or null. */
export function badOwnerOrPermissions(st: Pick<Stats, 'uid' | 'mode'>, uid = myUid()): string | null {
  if (st.uid !== 0 && st.uid !== uid) return `owned by uid ${st.uid}, neither root nor you (uid ${uid})`;
  if ((st.mode & 0o022) !== 0) return `mode 0${(st.mode & 0o777).toString(8)} is writable by group or others`;
  return null;
}

/** authfile.c's sshkey_perm_ok rule; returns the problem or null. */
export function keyTooOpen(st: Pick<Stats, 'uid' | 'mode'>, uid = myUid()): string | null {
  if (st.uid === uid && (st.mode & 0o077) !== 0) return `permissions 0${(st.mode & 0o777).toString(8)} are too open (a private key must not be accessible by others: chmod 600)`;
  return null;
}

/** A config file OpenSSH would refuse to read (the user's file and Include files). */
export function assertConfigTrusted(path: string, st: Stats): void {
  const bad = badOwnerOrPermissions(st);
  if (bad) {
    throw new SshError(ErrorCode.SSH_CONFIG, `Bad owner or permissions on ${path}: ${bad} (OpenSSH refuses it too)`, {
      step: 'ssh config', fix: `chmod go-w ${path} (and chown it to yourself or root)`,
    });
  }
}

/**
 * The state of a known_hosts path: missing (every host unknown; created on
 * --accept-new-host-keys) or a trusted regular file. Anything else is refused.
 */
export async function knownHostsState(path: string, node?: string): Promise<'missing' | 'file'> {
  let st: Stats;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new SshError(ErrorCode.KNOWN_HOSTS, `cannot read known_hosts file ${path}: ${(err as Error).message}`, { node, step: 'ssh host key', fix: 'check the path and permissions of hostKey.knownHosts' });
  }
  if (!st.isFile()) {
    const real = await realpath(path).catch(() => path);
    throw new SshError(ErrorCode.KNOWN_HOSTS, `known_hosts ${path}${real !== path ? ` (${real})` : ''} is ${kind(st)}: it holds no host keys and records none, which would switch host key checking off; refused`, {
      node, step: 'ssh host key', fix: 'point hostKey.knownHosts (or UserKnownHostsFile) at a real file, or pin hostKey.fingerprint',
    });
  }
  const bad = badOwnerOrPermissions(st);
  if (bad) {
    throw new SshError(ErrorCode.KNOWN_HOSTS, `Bad owner or permissions on known_hosts ${path}: ${bad}; whoever can write it decides which hosts are trusted`, {
      node, step: 'ssh host key', fix: `chmod go-w ${path} (and chown it to yourself or root)`,
    });
  }
  return 'file';
}

/** Read a private key the way OpenSSH would use it; a key that is too open is an error (OpenSSH ignores it). */
export async function readPrivateKey(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${path} is ${kind(st)}`);
    const open_ = keyTooOpen(st);
    if (open_) throw new Error(`${path}: ${open_}`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}
