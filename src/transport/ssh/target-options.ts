/**
 * Turns resolved settings (resolve-target.ts) into connect options: reads the
 * key files (the first readable one per endpoint, as OpenSSH tries them in
 * order) and decides on the ssh-agent. The passphrase belongs to the node's key;
 * a hop that borrows that key borrows the passphrase with it.
 */
import { SshError } from '../../errors.js';
import ssh2 from 'ssh2';
import { readPrivateKey } from './file-trust.js';
import type { JumpHop, JumpPool } from './jump.js';
import type { SshConnectOptions } from './open-client.js';
import type { ResolvedEndpoint, ResolvedTarget } from './resolve-target.js';
import { ErrorCode } from '../../error-codes.js';

export interface TargetOptionsInput {
  readonly node: string;
  readonly passphrase?: string;
  readonly readyTimeoutMs?: number;
  readonly sudo?: boolean;
  readonly home?: string;
  readonly pool?: JumpPool;
  /** Injectable for tests. */
  readonly readKey?: (path: string) => Promise<Buffer>;
}

interface Credentials {
  readonly privateKey?: Buffer;
  readonly keyPath?: string;
  readonly agent?: string;
}

async function credentialsFor(e: ResolvedEndpoint, node: string, readKey: (p: string) => Promise<Buffer>, notes: string[]): Promise<Credentials> {
  let privateKey: Buffer | undefined;
  let keyPath: string | undefined;
  for (const [i, path] of e.identityFiles.entries()) {
    try {
      privateKey = await readKey(path);
      keyPath = path;
      break;
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (i === 0 && e.identityFromInventory) {
        throw new SshError(ErrorCode.SSH_KEY, `cannot read the SSH private key ${path} for ${e.name}: ${reason}`, {
          node, step: 'ssh connect', fix: 'check ssh.identityFile',
        });
      }
      // OpenSSH only warns about a missing IdentityFile and goes on to the next.
      notes.push(`${e.name}: IdentityFile ${path} skipped (${reason})`);
    }
  }
  // Nothing named a key: OpenSSH's default files, the first readable one (the agent, when there is one, is offered as well).
  let fromDefaults = false;
  if (e.identityFiles.length === 0 && e.agentUse !== 'always') {
    for (const path of e.defaultIdentityFiles ?? []) {
      let key: Buffer;
      try {
        key = await readKey(path);
      } catch {
        continue; // a missing default key is normal (ssh skips it without a word)
      }
      // ssh would ask for the passphrase of an encrypted key; this tool does not, so such a key is left to the agent.
      if (ssh2.utils.parseKey(key) instanceof Error) {
        notes.push(`${e.name}: ${path} skipped (encrypted or not a key ssh2 reads; the agent or --identity with ssh.passphrase can supply it)`);
        continue;
      }
      privateKey = key;
      keyPath = path;
      fromDefaults = true;
      break;
    }
  }
  const useAgent = e.agentUse === 'always' || (e.agentUse === 'fallback' && (privateKey === undefined || fromDefaults));
  if (e.agentUse === 'always' && e.agentSocket === undefined) notes.push(`${e.name}: ssh.agent is set but no agent socket is known (SSH_AUTH_SOCK is unset)`);
  return {
    ...(privateKey !== undefined ? { privateKey, keyPath } : {}),
    ...(useAgent && e.agentSocket !== undefined ? { agent: e.agentSocket } : {}),
  };
}

export async function sshOptionsFor(t: ResolvedTarget, input: TargetOptionsInput): Promise<{ options: SshConnectOptions; notes: string[] }> {
  const notes: string[] = [];
  const readKey = input.readKey ?? readPrivateKey;
  const own = await credentialsFor(t, input.node, readKey, notes);
  const route: JumpHop[] = [];
  for (const hop of t.jumps) {
    const c = await credentialsFor(hop, input.node, readKey, notes);
    const sameKey = c.keyPath !== undefined && c.keyPath === own.keyPath;
    route.push({
      name: hop.name, host: hop.host, port: hop.port, user: hop.user, hostKey: hop.hostKey,
      ...(hop.hostKeyAlias !== undefined ? { hostKeyAlias: hop.hostKeyAlias } : {}),
      ...(c.privateKey !== undefined ? { privateKey: c.privateKey } : {}),
      ...(sameKey && input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
      ...(c.agent !== undefined ? { agent: c.agent } : {}),
    });
  }
  const options: SshConnectOptions = {
    node: input.node,
    host: t.host,
    port: t.port,
    user: t.user,
    hostKey: t.hostKey,
    ...(t.hostKeyAlias !== undefined ? { hostKeyAlias: t.hostKeyAlias } : {}),
    ...(own.privateKey !== undefined ? { privateKey: own.privateKey } : {}),
    ...(input.passphrase !== undefined ? { passphrase: input.passphrase } : {}),
    ...(own.agent !== undefined ? { agent: own.agent } : {}),
    ...(input.readyTimeoutMs !== undefined ? { readyTimeoutMs: input.readyTimeoutMs } : {}),
    ...(input.sudo !== undefined ? { sudo: input.sudo } : {}),
    ...(input.home !== undefined ? { home: input.home } : {}),
    ...(route.length > 0 ? { jump: { route, ...(input.pool ? { pool: input.pool } : {}) } } : {}),
  };
  return { options, notes };
}
