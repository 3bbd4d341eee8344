/**
 * Applies a HostKeyPolicy to the key a server offered: reads known_hosts,
 * refuses with HostKeyError (offered fingerprint shown), and appends a new
 * host only when acceptNew is set. Never accepts silently.
 */
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { inTurn, PRIVATE_FILE_MODE, writeFileAtomic } from '../../local-file.js';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { HostKeyError, SshError, type ErrorContext } from '../../errors.js';
import { decideKnownHosts, describeKeyType, expandHome, fingerprintOf, type HostKeyPolicy } from './host-key.js';
import { hostToken, knownHostsLine, parseKnownHosts, type KnownHostsFile } from './known-hosts.js';
import { knownHostsState } from './file-trust.js';
import { ErrorCode } from '../../error-codes.js';

export interface HostKeyTarget {
  readonly node: string;
  readonly host: string;
  readonly port: number;
}

export function knownHostsPath(policy: Extract<HostKeyPolicy, { knownHosts: string }>, home = homedir()): string {
  return expandHome(policy.knownHosts, home);
}

/**
 * A missing file is an empty one (every host unknown); a path that is no
 * trusted regular file (/dev/null in any spelling, a device, bad owner or
 * mode: file-trust.ts) and any other read error is an SshError.
 */
export async function loadKnownHosts(path: string, node: string): Promise<KnownHostsFile> {
  if ((await knownHostsState(path, node)) === 'missing') return { entries: [], invalid: [] };
  try {
    return parseKnownHosts(await readFile(path, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], invalid: [] };
    throw new SshError(ErrorCode.KNOWN_HOSTS, `cannot read known_hosts file ${path}: ${(err as Error).message}`, {
      node, step: 'ssh host key', fix: 'check the path and permissions of hostKey.knownHosts',
    });
  }
}

/**
 * Resolves when the key is trusted (possibly after learning it); rejects with
 * HostKeyError otherwise. `known` may be passed when the caller already read the file.
 */
export async function checkHostKey(
  policy: HostKeyPolicy, target: HostKeyTarget, offered: Buffer, opts: { home?: string; known?: KnownHostsFile } = {},
): Promise<void> {
  const fp = fingerprintOf(offered);
  const type = describeKeyType(offered);
  const where = `${target.host}:${target.port}`;
  const ctx = (fix: string): ErrorContext => ({ node: target.node, step: 'ssh host key', fix });

  if ('fingerprint' in policy) {
    if (fp === policy.fingerprint) return;
    throw new HostKeyError(
      `host key of ${where} does not match the pinned fingerprint: offered ${fp} (${type}), inventory pins ${policy.fingerprint}`,
      fp, ctx('verify out of band (`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the console), then update hostKey.fingerprint'),
    );
  }

  const path = knownHostsPath(policy, opts.home);
  // Checked again when the caller read the file: a path that cannot hold keys never lets a key through.
  if (opts.known) await knownHostsState(path, target.node);
  const known = opts.known ?? (await loadKnownHosts(path, target.node));
  const decision = decideKnownHosts(known.entries, target.host, target.port, offered);
  switch (decision.kind) {
    case 'match':
      return;
    case 'revoked':
      throw new HostKeyError(`host key of ${where} is revoked: offered ${fp} (${type}) is marked @revoked at ${path}:${decision.line}`, fp,
        ctx('replace the host key on the node, then update known_hosts'));
    case 'changed':
      throw new HostKeyError(
        `host key of ${where} has CHANGED: offered ${fp} (${type}), but ${path}:${decision.lines.join(',')} holds a different key (${decision.knownTypes.join(', ')})`,
        fp, ctx(`verify out of band, then update known_hosts (ssh-keygen -R '${hostToken(target.host, target.port)}' -f ${path})`),
      );
    case 'unknown':
      if (!policy.acceptNew) {
        throw new HostKeyError(`host key of ${where} is not known: offered ${fp} (${type}), not found in ${path}`, fp,
          ctx('re-run with --accept-new-host-keys or pin hostKey.fingerprint'));
      }
      await appendKnownHost(path, knownHostsLine(target.host, target.port, offered), target.node);
      return;
  }
}

/**
 * Add one line: the whole file is written again beside it and renamed over it
 * (src/local-file.ts), so ssh never reads half a file. A new file gets 0600 (in
 * a 0700 folder); an existing one keeps the mode its owner gave it.
 */
async function appendKnownHost(path: string, line: string, node: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    // A known_hosts that is a symlink (dotfiles) stays one: the file it points at is replaced.
    const file = await realpath(path).catch(() => path);
    await inTurn(file, async () => {
      let text = '';
      let mode = PRIVATE_FILE_MODE;
      try {
        text = await readFile(file, 'utf8');
        mode = (await stat(file)).mode & 0o777;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      // Keep the file line-oriented even if its last line had no newline.
      const prefix = text.length > 0 && !text.endsWith('\n') ? '\n' : '';
      await writeFileAtomic(file, text + prefix + line, { mode });
    });
  } catch (err) {
    throw new SshError(ErrorCode.KNOWN_HOSTS, `cannot add the host key to ${path}: ${(err as Error).message}`, {
      node, step: 'ssh host key', fix: 'check the permissions of hostKey.knownHosts, or pin hostKey.fingerprint instead',
    });
  }
}
