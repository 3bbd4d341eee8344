/**
 * A RemoteHost over one ssh2 connection, reused for every exec (one channel
 * each). Scripts are wrapped in `sudo -n sh -c` here when the host is a sudo
 * host, so callers always pass the plain script.
 */
import type { Client as SshClient } from 'ssh2';
import { SshError, type ErrorContext } from '../../errors.js';
import { withSudo, type Script } from '../shell.js';
import type { ExecOptions, ExecResult, RemoteHost } from '../types.js';
import { ChannelLimit } from './channel-limit.js';
import { execOnChannel } from './exec-channel.js';
import { sharedJumpPool, type JumpLease } from './jump.js';
import { bareHost, openClient, type SshConnectOptions } from './open-client.js';
import { ErrorCode } from '../../error-codes.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 32 * 1024 * 1024;
const CLOSE_GRACE_MS = 2_000;

export interface SshExecResult extends ExecResult {
  readonly timedOut: boolean;
}

export class SshHost implements RemoteHost {
  readonly node: string;
  readonly sudo: boolean;
  private client: SshClient | undefined;
  private reconnecting: Promise<void> | undefined;
  private opened = 0;
  private readonly limit: ChannelLimit;
  /** Held from the first connect until close(), so a reboot's reconnect reuses the jump hosts' connections. */
  private jumpLease: JumpLease | undefined;

  constructor(private readonly options: SshConnectOptions) {
    this.node = options.node;
    this.sudo = options.sudo ?? false;
    this.limit = new ChannelLimit(options.maxChannels ?? 8);
  }

  /** The node's address as connected to (ssh_config HostName applied, no brackets): what the node's management NIC holds. */
  get hostName(): string {
    return bareHost(this.options.host);
  }

  /** `host:port` as connected to, for messages. */
  get address(): string {
    return `${bareHost(this.options.host)}:${this.options.port}`;
  }

  /** Connections this host caused: its own, plus each jump host connection it was the first to need. */
  get connectionsOpened(): number {
    return this.opened;
  }

  /** False after close(), after the server dropped us, or before the first connect. */
  get isConnected(): boolean {
    return this.client !== undefined;
  }

  /**
   * Opens a fresh connection (closing any current one). Used at start and after a reboot.
   * Callers at the same time share one attempt: the reboot wait and a lease renewal both
   * reconnecting used to open two clients, and the one overwritten was never closed (it kept
   * the process alive after a real reboot under QEMU).
   */
  reconnect(opts: { readyTimeoutMs?: number } = {}): Promise<void> {
    this.reconnecting ??= this.openFresh(opts.readyTimeoutMs).finally(() => {
      this.reconnecting = undefined;
    });
    return this.reconnecting;
  }

  private async openFresh(readyTimeoutMs: number | undefined): Promise<void> {
    await this.dropClient();
    const client = await this.open(readyTimeoutMs);
    this.opened++;
    this.client = client;
    client.once('close', () => {
      if (this.client === client) this.client = undefined;
    });
  }

  /**
   * Runs the script (under sudo for sudo hosts). Non-zero exits are results,
   * not errors. A timeout or a dropped connection gives `code: null` with the
   * reason appended to stderr. Throws SshError when there is no connection,
   * the channel is refused, or an output stream exceeds its cap.
   */
  async exec(script: Script, opts: ExecOptions = {}): Promise<SshExecResult> {
    const release = await this.limit.acquire();
    try {
      const client = this.client;
      const context: ErrorContext = { node: this.node, step: 'ssh exec' };
      if (!client) {
        throw new SshError(ErrorCode.SSH_CLOSED, `no open SSH connection to ${this.node} at ${this.address}`, { ...context, fix: 'reconnect to the node' });
      }
      return await execOnChannel(client, withSudo(script, this.sudo), {
        ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        maxOutputBytes: this.options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
        context,
      });
    } finally {
      release();
    }
  }

  private async open(readyTimeoutMs: number | undefined): Promise<SshClient> {
    const jump = this.options.jump;
    if (!jump || jump.route.length === 0) return openClient(this.options, readyTimeoutMs);
    this.jumpLease ??= (jump.pool ?? sharedJumpPool).lease(jump.route, {
      node: this.node,
      ...(this.options.home !== undefined ? { home: this.options.home } : {}),
      ...(this.options.readyTimeoutMs !== undefined ? { readyTimeoutMs: this.options.readyTimeoutMs } : {}),
      ...(this.options.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: this.options.keepaliveIntervalMs } : {}),
      ...(this.options.keepaliveCountMax !== undefined ? { keepaliveCountMax: this.options.keepaliveCountMax } : {}),
    });
    const tunnel = await this.jumpLease.open(bareHost(this.options.host), this.options.port, readyTimeoutMs);
    this.opened += tunnel.opened;
    try {
      return await openClient(this.options, readyTimeoutMs, tunnel.sock);
    } catch (err) {
      tunnel.sock.destroy();
      throw err;
    }
  }

  /** Closes the connection and lets go of the jump hosts (closed when no other node uses them). */
  async close(): Promise<void> {
    await this.dropClient();
    const lease = this.jumpLease;
    this.jumpLease = undefined;
    await lease?.release();
  }

  private async dropClient(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    await new Promise<void>((resolve) => {
      // A peer that vanished (rebooting host) never completes the goodbye: destroy after a grace period.
      const force = setTimeout(() => destroyClient(client), CLOSE_GRACE_MS);
      client.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      client.end();
    });
  }
}

/**
 * ssh2's `destroy()` does nothing once `end()` ran (it checks that the socket
 * is still writable), so a peer that vanished without a FIN or RST (a rebooting
 * guest behind QEMU's user network, a dead NAT entry) kept the socket, and the
 * process, alive until the keepalive gave up. Destroy the socket itself.
 */
function destroyClient(client: SshClient): void {
  client.destroy();
  (client as unknown as { _sock?: { destroy(): void } })._sock?.destroy();
}
