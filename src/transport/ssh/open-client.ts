/**
 * Opens one authenticated ssh2 Client, with the host key policy run inside
 * ssh2's handshake and every failure turned into an SshError that names the
 * node and host:port and says what to do.
 */
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Client as SshClient, ConnectConfig } from 'ssh2';
import { PassthroughError, SshError, redact, type ErrorContext } from '../../errors.js';
import { checkHostKey, knownHostsPath, loadKnownHosts } from './host-key-check.js';
import { preferredHostKeyAlgorithms, type HostKeyPolicy } from './host-key.js';
import type { JumpHop, JumpPool } from './jump.js';
import type { KnownHostsFile } from './known-hosts.js';
import { ErrorCode, type CodeOf } from '../../error-codes.js';

const { Client } = ssh2;

export interface SshConnectOptions {
  /** PVE node name, for messages. */
  readonly node: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly privateKey?: Buffer | string;
  readonly passphrase?: string;
  /** Path of an ssh-agent socket (usually $SSH_AUTH_SOCK). */
  readonly agent?: string;
  readonly hostKey: HostKeyPolicy;
  /** ssh_config HostKeyAlias: known_hosts is searched (and written) under this name instead of host:port. */
  readonly hostKeyAlias?: string;
  /** ProxyJump: reach the node through these hops (first one directly); `pool` defaults to the process-wide one. */
  readonly jump?: { readonly route: readonly JumpHop[]; readonly pool?: JumpPool };
  /** TCP connect + handshake + auth. Default 15 s. */
  readonly readyTimeoutMs?: number;
  /** Run every script under `sudo -n sh -c` (non-root users). */
  readonly sudo?: boolean;
  /** Keepalive so a dead host is noticed: default every 5 s, given up after 3 unanswered. */
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
  /** Per stream (stdout, stderr) cap of one exec. Default 32 MiB. */
  readonly maxOutputBytes?: number;
  /** Concurrent channels on the connection (sshd MaxSessions is 10 by default). Default 8. */
  readonly maxChannels?: number;
  /** Home directory for `~` in knownHosts. Default os.homedir(). */
  readonly home?: string;
}

export const DEFAULT_READY_TIMEOUT_MS = 15_000;

/** Brackets from an inventory IPv6 literal (`[::1]`) are not part of the address. */
export function bareHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * `sock`: an already-open stream to the server (a channel forwarded by a jump
 * host) instead of a TCP connection of our own.
 */
export async function openClient(o: SshConnectOptions, readyTimeoutMs = o.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, sock?: Duplex): Promise<SshClient> {
  const host = bareHost(o.host);
  const via = o.jump && o.jump.route.length > 0 ? ` via ${o.jump.route.map((h) => h.name).join(' -> ')}` : '';
  const where = `${o.node} at ${host}:${o.port}${via}`;
  const ctx: ErrorContext = { node: o.node, step: 'ssh connect' };
  const known: KnownHostsFile | undefined = 'knownHosts' in o.hostKey ? await loadKnownHosts(knownHostsPath(o.hostKey, o.home), o.node) : undefined;
  // HostKeyAlias replaces the whole `[host]:port` lookup name, as in OpenSSH.
  const keyHost = o.hostKeyAlias ?? host;
  const keyPort = o.hostKeyAlias !== undefined ? 22 : o.port;

  return new Promise<SshClient>((resolve, reject) => {
    const client = new Client();
    let settled = false;
    let hostKeyProblem: Error | undefined;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      client.end();
      reject(err);
    };
    // Stays attached for the client's life: ssh2 emits 'error' (keepalive
    // timeout, resets) after ready too, and an unhandled one would crash.
    client.on('error', (err: Error & { level?: string; code?: string }) => fail(hostKeyProblem ?? mapConnectError(err, where, o, ctx)));
    client.once('close', () => fail(hostKeyProblem ?? new SshError(ErrorCode.SSH_CONNECT, `${where} closed the connection during setup`, { ...ctx, fix: 'check sshd on the node (MaxStartups, AllowUsers, its logs)' })));
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      resolve(client);
    });

    const config: ConnectConfig = {
      host,
      port: o.port,
      username: o.user,
      readyTimeout: readyTimeoutMs,
      keepaliveInterval: o.keepaliveIntervalMs ?? 5_000,
      keepaliveCountMax: o.keepaliveCountMax ?? 3,
      // Must return undefined: ssh2 treats any returned value (a Promise too) as the verdict.
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void): void => {
        checkHostKey(o.hostKey, { node: o.node, host: keyHost, port: keyPort }, key, { ...(o.home !== undefined ? { home: o.home } : {}), ...(known ? { known } : {}) })
          .then(() => verify(true), (err: unknown) => {
            hostKeyProblem = err instanceof Error ? err : new SshError(ErrorCode.HOST_KEY, String(err), ctx);
            verify(false);
          });
      },
      ...(known ? { algorithms: { serverHostKey: preferredHostKeyAlgorithms(known.entries, keyHost, keyPort) } } : {}),
      ...(sock !== undefined ? { sock } : {}),
      ...(o.privateKey !== undefined ? { privateKey: o.privateKey } : {}),
      ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
      ...(o.agent !== undefined ? { agent: o.agent } : {}),
    };
    try {
      client.connect(config);
      // Small SSH packets (channel requests, EOF, close) must not wait for a delayed ACK (Nagle): 40 ms per exec otherwise.
      client.setNoDelay(true);
    } catch (err) {
      // ssh2 parses the private key synchronously: wrong or missing passphrase, bad key file.
      const secrets = o.passphrase ? [o.passphrase] : [];
      fail(new SshError(ErrorCode.SSH_KEY, `cannot use the SSH private key for ${o.node}: ${redact((err as Error).message, secrets)}`, {
        ...ctx, fix: 'check ssh.identityFile and ssh.passphrase (an encrypted key needs its passphrase)',
      }, { cause: err }));
    }
  });
}

export function mapConnectError(err: Error & { level?: string; code?: string }, where: string, o: SshConnectOptions, ctx: ErrorContext): PassthroughError {
  const secrets = o.passphrase ? [o.passphrase] : [];
  const detail = redact(err.message, secrets);
  const make = (code: CodeOf<'ssh'>, message: string, fix: string): SshError => new SshError(code, message, { ...ctx, fix }, { cause: err });
  if (err.level === 'client-authentication') {
    const how = [o.privateKey !== undefined ? 'private key' : undefined, o.agent !== undefined ? 'ssh-agent' : undefined].filter(Boolean).join(' and ') || 'no key or agent configured';
    return make(ErrorCode.SSH_AUTH, `authentication as ${o.user} failed on ${where} (tried ${how})`,
      `check ssh.user, ssh.identityFile/agent, and that the public key is in ~${o.user}/.ssh/authorized_keys on the node`);
  }
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT') {
    return make(ErrorCode.SSH_TIMEOUT, `timed out connecting to ${where} (${detail})`, 'check that the node is up and that nothing filters the SSH port');
  }
  switch (err.code) {
    case 'ECONNREFUSED':
      return make(ErrorCode.SSH_CONNECT, `connection refused by ${where}`, 'check that sshd runs on the node and that ssh.port is right');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make(ErrorCode.SSH_CONNECT, `cannot resolve the host name for ${where}`, 'check ssh.host (DNS or /etc/hosts)');
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(ErrorCode.SSH_CONNECT, `no route to ${where}`, 'check the network path to the node');
    case 'ECONNRESET':
    case 'EPIPE':
      return make(ErrorCode.SSH_CONNECT, `${where} reset the connection`, 'check sshd on the node (MaxStartups, its logs)');
    default:
      return make(ErrorCode.SSH_CONNECT, `SSH to ${where} failed: ${detail}`, 'check the node, its sshd and the ssh settings in the inventory');
  }
}
