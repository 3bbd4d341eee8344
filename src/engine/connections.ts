/**
 * One SSH connection per host and one API client per cluster for the whole
 * run, opened on first use and closed together at the end.
 */
import { readFile } from 'node:fs/promises';
import { InputError, redact, RunError } from '../errors.js';
import type { Cluster, Node } from '../inventory/schema.js';
import type { SecretStore } from '../inventory/secrets.js';
import type { Script } from '../transport/shell.js';
import type { ExecOptions, ExecResult, RemoteHost } from '../transport/types.js';
import type { SshHost } from '../transport/ssh/index.js';
import type { PveClient } from '../transport/pve/index.js';
import type { EngineEvent } from './types.js';
import { ErrorCode } from '../error-codes.js';

export interface ConnectionOptions {
  readonly secrets: SecretStore;
  readonly acceptNewHostKeys: boolean;
  readonly emit: (e: EngineEvent) => void;
  /** OpenSSH client config to read (-F); false = none; default ~/.ssh/config and /etc/ssh/ssh_config. */
  readonly sshConfig?: string | false;
}

function runOver(): RunError {
  return new RunError(ErrorCode.RUN_OVER, 'the run has ended; no new connection is opened');
}

/** The cluster's CA file; a missing or unreadable one is an input error naming the field. */
async function readCaFile(path: string, cluster: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`cannot read the CA file ${path}: ${(err as Error).message}`, [], { cluster, step: 'connect to the API', fix: 'check api.tls.ca (the cluster CA file, pve-root-ca.pem)' });
  }
}

export class Connections {
  private readonly hosts = new Map<string, Promise<SshHost>>();
  private readonly apis = new Map<string, Promise<PveClient | null>>();
  /** Set by closeAll: a job still running when the run ends must not open a connection nobody will close. */
  private closed = false;

  constructor(private readonly opts: ConnectionOptions) {}

  /** The node's SSH session (connects on first use). */
  ssh(cluster: Cluster, node: Node): Promise<SshHost> {
    if (this.closed) return Promise.reject(runOver());
    const key = `${cluster.name}/${node.name}`;
    let p = this.hosts.get(key);
    if (!p) {
      p = this.connect(node);
      // A failed connect must not be cached: the next call (a retry, a re-run step) tries again.
      p.catch(() => this.hosts.delete(key));
      this.hosts.set(key, p);
    }
    return p;
  }

  /** A host whose every exec is reported as a `command` event (secrets redacted). */
  async logged(cluster: Cluster, node: Node): Promise<RemoteHost> {
    const inner = await this.ssh(cluster, node);
    const emit = this.opts.emit;
    const secrets = this.opts.secrets;
    const closed = () => this.closed;
    return {
      node: node.name,
      get connectionsOpened() {
        return inner.connectionsOpened;
      },
      async exec(script: Script, o?: ExecOptions): Promise<ExecResult> {
        emit({ type: 'command', node: node.name, script: redact(script, secrets.values()) });
        // A connection the host dropped mid-run (not a reboot: those reconnect themselves) is opened again once,
        // so the check after a cut-off write and the lock release still reach the node.
        if (!inner.isConnected) {
          if (closed()) throw runOver();
          await inner.reconnect();
        }
        return inner.exec(script, o);
      },
      close: () => inner.close(),
    };
  }

  api(cluster: Cluster): Promise<PveClient | null> {
    if (this.closed) return Promise.reject(runOver());
    let p = this.apis.get(cluster.name);
    if (!p) {
      p = this.makeApi(cluster);
      p.catch(() => this.apis.delete(cluster.name));
      this.apis.set(cluster.name, p);
    }
    return p;
  }

  /** Total SSH connections opened this run (benchmarks: 1 per host, +1 per reboot). */
  async connectionCount(): Promise<number> {
    let n = 0;
    for (const p of this.hosts.values()) n += await p.then((h) => h.connectionsOpened, () => 0);
    return n;
  }

  /** Closes every connection, including those still being opened; later ssh()/api() calls are refused. */
  async closeAll(): Promise<void> {
    this.closed = true;
    const hosts = [...this.hosts.values()];
    const apis = [...this.apis.values()];
    this.hosts.clear();
    this.apis.clear();
    await Promise.allSettled([
      ...hosts.map((p) => p.then((h) => h.close())),
      ...apis.map((p) => p.then((a) => a?.close())),
    ]);
  }

  /**
   * Resolve, before anything is contacted, every API secret of these clusters that
   * comes from the environment or a file without a prompt to fall back on, so a
   * missing one is the run's one error (named as such) rather than a failure
   * in the middle of connecting to everything else.
   */
  async preflight(clusters: readonly Cluster[]): Promise<void> {
    const secrets = this.opts.secrets;
    const eager = (ref: { env?: string; file?: string; prompt?: boolean } | undefined): boolean => Boolean(ref && (ref.env || ref.file) && !ref.prompt);
    for (const c of clusters) {
      const api = c.api;
      if (api) {
        if ('token' in api.auth && eager(api.auth.token.secret)) await secrets.resolve(api.auth.token.secret, `${c.name}: API token secret`);
        if ('ticket' in api.auth && eager(api.auth.ticket.password)) await secrets.resolve(api.auth.ticket.password, `${c.name}: password for ${api.auth.ticket.username}`);
        if (api.rootTicket && eager(api.rootTicket.password)) await secrets.resolve(api.rootTicket.password, `${c.name}: root@pam password`);
      }
    }
  }

  private async connect(node: Node): Promise<SshHost> {
    const { connectSsh, loadSshConfig, resolveSshTarget, sshOptionsFor } = await import('../transport/ssh/index.js');
    const { homedir, userInfo } = await import('node:os');
    const s = node.ssh;
    const configFile = this.opts.sshConfig;
    const home = homedir();
    const config = s.useSshConfig && configFile !== false
      ? await loadSshConfig({ home, ...(configFile !== undefined ? { file: configFile } : {}) })
      : undefined;
    const target = resolveSshTarget(s, config, {
      home, localUser: userInfo().username, env: process.env, acceptNewHostKeys: this.opts.acceptNewHostKeys,
    });
    const passphrase = s.passphrase ? await this.opts.secrets.resolve(s.passphrase, `${node.name}: SSH key passphrase`) : undefined;
    const { options, notes } = await sshOptionsFor(target, {
      node: node.name, readyTimeoutMs: s.connectTimeoutSeconds * 1000, sudo: s.sudo,
      ...(passphrase !== undefined ? { passphrase } : {}),
    });
    for (const message of [...target.notes, ...notes]) this.opts.emit({ type: 'warning', subject: `node ${node.name}`, message });
    return connectSsh(options);
  }

  private async makeApi(cluster: Cluster): Promise<PveClient | null> {
    const api = cluster.api;
    if (!api) return null;
    const { PveClient } = await import('../transport/pve/index.js');
    const secrets = this.opts.secrets;
    const tls = 'fingerprint' in api.tls
      ? { fingerprint: api.tls.fingerprint }
      : 'ca' in api.tls
        ? { ca: await readCaFile(api.tls.ca, cluster.name) }
        : { system: true as const };
    const auth = 'token' in api.auth
      ? { token: { id: api.auth.token.id, secret: await secrets.resolve(api.auth.token.secret, `${cluster.name}: API token secret`) } }
      : {
          ticket: {
            username: api.auth.ticket.username,
            password: await secrets.resolve(api.auth.ticket.password, `${cluster.name}: password for ${api.auth.ticket.username}`),
            totp: api.auth.ticket.totp ? await secrets.resolve(api.auth.ticket.totp, `${cluster.name}: TOTP code`) : undefined,
          },
        };
    const rootTicket = api.rootTicket
      ? {
          password: await secrets.resolve(api.rootTicket.password, `${cluster.name}: root@pam password`),
          totp: api.rootTicket.totp ? await secrets.resolve(api.rootTicket.totp, `${cluster.name}: root@pam TOTP code`) : undefined,
        }
      : undefined;
    return new PveClient({ baseUrl: api.url, tls, auth, rootTicket, timeoutMs: api.timeoutSeconds * 1000, cluster: cluster.name });
  }
}
