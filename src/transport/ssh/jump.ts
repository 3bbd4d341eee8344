/**
 * ProxyJump over ssh2: each hop is an ordinary, host-key-checked SSH
 * connection opened through a `direct-tcpip` channel (forwardOut) of the hop
 * before it. Hop connections live in a pool keyed by the route up to that hop,
 * so every node behind the same jump host shares one connection; a hop is
 * closed when the last node using it lets go.
 */
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Client as SshClient } from 'ssh2';
import { HostKeyError, SshError } from '../../errors.js';
import type { HostKeyPolicy } from './host-key.js';
import { bareHost, DEFAULT_READY_TIMEOUT_MS, openClient, type SshConnectOptions } from './open-client.js';
import { ErrorCode } from '../../error-codes.js';

/** One jump host, as connected to (settings already resolved): the node's connect options plus its name. */
export type JumpHop = Pick<SshConnectOptions, 'host' | 'port' | 'user' | 'privateKey' | 'passphrase' | 'agent' | 'hostKey' | 'hostKeyAlias'> & {
  /** The name as written in ProxyJump, for messages. */
  readonly name: string;
};

export interface JumpContext {
  /** The node being reached, for error messages. */
  readonly node: string;
  readonly home?: string;
  readonly readyTimeoutMs?: number;
  readonly keepaliveIntervalMs?: number;
  readonly keepaliveCountMax?: number;
}

export interface JumpTunnel {
  /** A forwarded channel to host:port from the last hop, usable as ssh2's `sock`. */
  readonly sock: Duplex;
  /** Hop connections this call had to open (0 when all were already up). */
  readonly opened: number;
}

/** A node's hold on its route: keeps the hops open across its reconnects (reboots) until released. */
export interface JumpLease {
  open(host: string, port: number, readyTimeoutMs?: number): Promise<JumpTunnel>;
  release(): Promise<void>;
}

interface PoolEntry {
  refs: number;
  client?: Promise<SshClient>;
}

const CLOSE_GRACE_MS = 2_000;

/** Identity of a hop: who we connect as, where, with which credentials and which trust. Secrets only as a hash. */
function hopIdentity(h: JumpHop): string {
  const key = h.privateKey === undefined ? '' : createHash('sha256').update(h.privateKey).digest('hex');
  return JSON.stringify([h.host.toLowerCase(), h.port, h.user, h.hostKey, h.hostKeyAlias ?? '', h.agent ?? '', key]);
}

export function routeKeys(route: readonly JumpHop[]): string[] {
  const keys: string[] = [];
  route.forEach((hop, i) => keys.push(`${i === 0 ? '' : `${keys[i - 1]}\n`}${hopIdentity(hop)}`));
  return keys;
}

/** Say which hop failed, keeping the error's class (a HostKeyError stays a refusal) and naming the node. */
function onHop(err: unknown, hop: JumpHop, node: string): Error {
  if (!(err instanceof SshError)) return err instanceof Error ? err : new Error(String(err));
  const message = `jump host ${hop.name}: ${err.message}`;
  const context = { ...err.context, node };
  return err instanceof HostKeyError ? new HostKeyError(message, err.fingerprint, context) : new SshError(err.code, message, context, { cause: err });
}

/** A direct-tcpip channel from `client` to host:port, with a deadline (a jump host's own connect can hang for minutes). */
export function forwardThrough(client: SshClient, hopName: string, host: string, port: number, node: string, timeoutMs: number): Promise<Duplex> {
  const target = `${bareHost(host)}:${port}`;
  const fail = (what: string): SshError => new SshError(ErrorCode.SSH_CONNECT, `jump host ${hopName} cannot reach ${target}: ${what}`, {
    node, step: 'ssh connect', fix: `check that ${hopName} can reach ${target} (HostName and Port of the node, firewalls, AllowTcpForwarding in its sshd_config)`,
  });
  return new Promise<Duplex>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(fail(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      client.forwardOut('127.0.0.1', 0, bareHost(host), port, (err, channel) => {
        clearTimeout(timer);
        if (done) {
          channel?.close();
          return;
        }
        done = true;
        if (err) reject(fail(err.message.replace(/^\(SSH\) /, '')));
        else resolve(channel);
      });
    } catch (err) {
      clearTimeout(timer);
      done = true;
      reject(fail((err as Error).message));
    }
  });
}

function closeClient(client: SshClient): Promise<void> {
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => client.destroy(), CLOSE_GRACE_MS);
    client.once('close', () => {
      clearTimeout(force);
      resolve();
    });
    client.end();
  });
}

export class JumpPool {
  private readonly entries = new Map<string, PoolEntry>();
  private openedTotal = 0;

  /** Hop connections opened over the pool's life. */
  get connectionsOpened(): number {
    return this.openedTotal;
  }

  /** Hop connections currently up. */
  get openHops(): number {
    return [...this.entries.values()].filter((e) => e.client !== undefined).length;
  }

  lease(route: readonly JumpHop[], ctx: JumpContext): JumpLease {
    if (route.length === 0) throw new Error('a jump route needs at least one hop');
    const keys = routeKeys(route);
    for (const k of keys) {
      const e = this.entries.get(k) ?? { refs: 0 };
      e.refs++;
      this.entries.set(k, e);
    }
    let released = false;
    return {
      open: async (host, port, readyTimeoutMs) => {
        if (released) throw new Error('jump lease already released');
        const counter = { opened: 0 };
        const timeout = readyTimeoutMs ?? ctx.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
        const last = route.length - 1;
        const client = await this.clientFor(last, route, keys, ctx, timeout, counter);
        const sock = await forwardThrough(client, route[last]!.name, host, port, ctx.node, timeout);
        return { sock, opened: counter.opened };
      },
      release: async () => {
        if (released) return;
        released = true;
        await this.release(keys);
      },
    };
  }

  private clientFor(i: number, route: readonly JumpHop[], keys: readonly string[], ctx: JumpContext, timeout: number, counter: { opened: number }): Promise<SshClient> {
    const entry = this.entries.get(keys[i]!);
    const hop = route[i]!;
    if (!entry) return Promise.reject(new Error('jump route used after release'));
    if (entry.client) return entry.client;
    const p = (async () => {
      const sock = i === 0 ? undefined : await forwardThrough(await this.clientFor(i - 1, route, keys, ctx, timeout, counter), route[i - 1]!.name, hop.host, hop.port, ctx.node, timeout);
      let client: SshClient;
      try {
        // A hop is the node's connect options plus its name (JumpHop), so it passes through as is.
        const { name: _name, ...connect } = hop;
        client = await openClient({
          node: ctx.node, ...connect,
          ...(ctx.home !== undefined ? { home: ctx.home } : {}),
          ...(ctx.keepaliveIntervalMs !== undefined ? { keepaliveIntervalMs: ctx.keepaliveIntervalMs } : {}),
          ...(ctx.keepaliveCountMax !== undefined ? { keepaliveCountMax: ctx.keepaliveCountMax } : {}),
        }, timeout, sock);
      } catch (err) {
        sock?.destroy();
        throw onHop(err, hop, ctx.node);
      }
      counter.opened++;
      this.openedTotal++;
      // A dead hop is forgotten, so the next node (or reconnect) opens it afresh.
      client.once('close', () => {
        if (entry.client === p) delete entry.client;
      });
      return client;
    })();
    entry.client = p;
    p.catch(() => {
      if (entry.client === p) delete entry.client;
    });
    return p;
  }

  private async release(keys: readonly string[]): Promise<void> {
    // Innermost hop first: it runs over the ones before it.
    for (const k of [...keys].reverse()) {
      const e = this.entries.get(k);
      if (!e) continue;
      e.refs--;
      if (e.refs > 0) continue;
      this.entries.delete(k);
      const client = await e.client?.catch(() => undefined);
      if (client) await closeClient(client);
    }
  }
}

/** The pool used when the caller brings none: shared by every node of the process, so one jump connection serves all. */
export const sharedJumpPool = new JumpPool();
