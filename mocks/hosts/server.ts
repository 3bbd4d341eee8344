/**
 * A simulated host behind a real SSH server (ssh2) on 127.0.0.1: publickey
 * auth against one authorized key, every exec run through the dialect
 * interpreter of its SimHost, reboots that drop the connection and refuse new
 * ones for a while, and the faults of HostFaults. Our own net.Server accepts
 * the sockets so a reboot can refuse them and a new host key can be swapped in.
 */
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import { readsStdin } from './dialect.js';
import { SimHost } from './host.js';
import type { HostFaults, Violation } from './host.js';
import type { ProfileData, ProfileOverrides } from './profile-types.js';

const { Server, utils } = ssh2;

export interface StartSimHostOptions {
  readonly name: string;
  readonly profile: string | ProfileData;
  readonly overrides?: ProfileOverrides;
  /** The one client key allowed in, OpenSSH format (`ssh-ed25519 AAAA…`). */
  readonly authorizedKey: string;
  readonly user?: 'root' | string;
  readonly sudo?: boolean;
  /** Host private key (PEM/OpenSSH); generated when absent. */
  readonly hostKey?: string;
  readonly faults?: HostFaults;
  readonly port?: number;
  /** Default reboot downtime when faults.rebootDelayMs is not set (300 ms). */
  readonly rebootDelayMs?: number;
}

export interface RunningSimHost {
  readonly name: string;
  readonly address: '127.0.0.1';
  readonly port: number;
  /** `SHA256:…` as ssh-keygen -lf prints it; changes when the hostKeyChanged fault fires. */
  readonly hostKeyFingerprint: string;
  readonly state: SimHost;
  readonly reboots: number;
  readonly connectionsAccepted: number;
  readonly commandLog: readonly string[];
  readonly violations: readonly Violation[];
  /** True while rebooting (or never back). */
  readonly down: boolean;
  /** Calls `listener` at the moment `down` changes (synchronously, with the new value); returns the unsubscribe. Tests watch reboots with it instead of sampling. */
  onDownChange(listener: (down: boolean) => void): () => void;
  /** Change the host key now (as if the host were reinstalled). */
  rotateHostKey(): void;
  /** Someone power-cycled a host stuck in a reboot (neverReturns) from its console: it boots now. */
  powerOn(): void;
  /** The network between the tool and this host fails for a moment: every open SSH connection is cut (the host stays up). */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface ClientKey {
  /** OpenSSH private key. */
  readonly privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  readonly publicKey: string;
}

/**
 * ssh2 1.17's generateKeyPairSync('ed25519') returns, about 3 times in 1000, a
 * private key its own parseKey rejects ("Malformed OpenSSH private key"): draw again.
 */
export function generateKeyPair(o: { comment?: string; passphrase?: string; cipher?: string; rounds?: number } = {}): { private: string; public: string } {
  const { comment, passphrase } = o;
  for (let attempt = 0; ; attempt++) {
    const k = utils.generateKeyPairSync('ed25519', {
      ...(comment !== undefined ? { comment } : {}),
      ...(passphrase !== undefined ? { passphrase, cipher: o.cipher ?? 'aes256-ctr', ...(o.rounds !== undefined ? { rounds: o.rounds } : {}) } : {}),
    });
    if (!(utils.parseKey(k.private, passphrase) instanceof Error) && !(utils.parseKey(k.public) instanceof Error)) return k;
    if (attempt >= 50) throw new Error('ssh2 could not generate a parsable ed25519 key');
  }
}

/** A client key pair; with a passphrase the private key is encrypted (aes256-ctr, bcrypt KDF). */
export function generateClientKey(comment = 'pve-passthrough-test', passphrase?: string): ClientKey {
  const k = generateKeyPair({ comment, ...(passphrase !== undefined ? { passphrase } : {}) });
  return { privateKey: k.private, publicKey: k.public };
}

export function generateHostKey(): string {
  return generateKeyPair().private;
}

function parseOne(key: string): ParsedKey {
  const parsed = utils.parseKey(key);
  if (parsed instanceof Error) throw new Error(`cannot parse key: ${parsed.message}`);
  const k = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!k) throw new Error('cannot parse key: empty');
  return k as ParsedKey;
}

/** ssh-keygen style: SHA256 over the public key blob, base64 without padding. */
export function fingerprintOf(key: string): string {
  const blob = parseOne(key).getPublicSSH();
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

class SimHostServer implements RunningSimHost {
  readonly address = '127.0.0.1' as const;
  readonly state: SimHost;
  port = 0;
  hostKeyFingerprint: string;
  connectionsAccepted = 0;
  private isDown = false;
  private readonly downListeners = new Set<(down: boolean) => void>();
  private ssh: InstanceType<typeof Server>;
  private readonly sockets = new Set<Socket>();
  private readonly net: NetServer;
  private readonly allowed: ParsedKey;
  private rebootTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(readonly name: string, private readonly opts: StartSimHostOptions) {
    this.state = new SimHost(opts.profile, { faults: opts.faults, user: opts.user, sudo: opts.sudo, overrides: opts.overrides });
    this.allowed = parseOne(opts.authorizedKey);
    const hostKey = opts.hostKey ?? generateHostKey();
    this.hostKeyFingerprint = fingerprintOf(hostKey);
    this.ssh = this.makeSsh(hostKey);
    this.net = createServer((socket) => this.onSocket(socket));
  }

  get reboots(): number {
    return this.state.reboots;
  }
  get commandLog(): readonly string[] {
    return this.state.commandLog;
  }
  get violations(): readonly Violation[] {
    return this.state.violations;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen(this.opts.port ?? 0, '127.0.0.1', () => {
        this.net.off('error', reject);
        resolve();
      });
    });
    const addr = this.net.address();
    if (addr === null || typeof addr === 'string') throw new Error('sim host: no TCP address');
    this.port = addr.port;
  }

  rotateHostKey(): void {
    const key = generateHostKey();
    this.hostKeyFingerprint = fingerprintOf(key);
    this.ssh = this.makeSsh(key);
  }

  powerOn(): void {
    if (!this.down || this.closed) return;
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    this.rebootTimer = null;
    this.state.setFaults({ neverReturns: false });
    this.state.completeReboot();
    if (this.state.phase !== 'cut-off') this.setDown(false);
  }

  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rebootTimer) clearTimeout(this.rebootTimer);
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.net.close(() => resolve()));
  }

  private onSocket(socket: Socket): void {
    socket.on('error', () => undefined);
    // OpenSSH's sshd flushes the packets that end an exec in one write; ssh2 writes them one by
    // one, and with Nagle on each exec would wait 40 ms for a delayed ACK. Match sshd's timing.
    socket.setNoDelay(true);
    if (this.down || this.closed) {
      socket.destroy(); // the port answers but nobody is home: connection reset
      return;
    }
    this.connectionsAccepted++;
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.ssh.injectSocket(socket);
  }

  private makeSsh(hostKey: string): InstanceType<typeof Server> {
    const server = new Server({ hostKeys: [hostKey], ident: 'OpenSSH_10.0p2 Debian-7' }, (client) => this.onClient(client));
    server.on('error', () => undefined);
    return server;
  }

  private onClient(client: Connection): void {
    // ssh2 keeps the raw socket here; we need it to drop the connection abruptly.
    const socket = (client as unknown as { _sock: Socket })._sock;
    const user = this.opts.user ?? 'root';
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey' || ctx.username !== user) return ctx.reject(['publickey']);
      const offered = ctx.key;
      if (offered.algo !== this.allowed.type || !offered.data.equals(this.allowed.getPublicSSH())) return ctx.reject(['publickey']);
      if (!ctx.signature || !ctx.blob) return ctx.accept(); // key query: "would you accept this key?"
      if (this.allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
      ctx.accept();
    });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('exec', (accept, _reject, info) => {
          const channel = accept();
          this.onExec(info.command, channel, socket);
        });
        session.on('pty', (_a, reject) => reject?.());
        session.on('shell', (_a, reject) => reject());
        session.on('subsystem', (_a, reject) => reject());
        session.on('env', (accept) => accept?.());
      });
    });
  }

  private onExec(command: string, channel: ServerChannel, socket: Socket): void {
    let run = (stdin: string): void => {
      if (this.down || this.state.phase !== 'up') {
        socket.destroy();
        return;
      }
      const r = this.state.exec(command, { stdin });
      if (r.stdout) channel.write(r.stdout);
      if (r.stderr) channel.stderr.write(r.stderr);
      if (r.dropped) {
        setImmediate(() => socket.destroy());
        return;
      }
      if (r.reboot) {
        this.beginReboot();
        return;
      }
      channel.exit(r.code ?? 255);
      channel.end();
    };
    const slow = this.state.phase === 'up' ? this.state.takeSlowness(command) : 0;
    if (slow > 0) {
      let closed = false;
      channel.once('close', () => { closed = true; });
      const later = run;
      run = (stdin: string) => { setTimeout(() => { if (!closed) later(stdin); }, slow); };
    }
    if (!readsStdin(command)) {
      run('');
      return;
    }
    const chunks: Buffer[] = [];
    channel.on('data', (d: Buffer) => chunks.push(d));
    channel.once('end', () => run(Buffer.concat(chunks).toString('utf8')));
  }

  get down(): boolean {
    return this.isDown;
  }

  onDownChange(listener: (down: boolean) => void): () => void {
    this.downListeners.add(listener);
    return () => this.downListeners.delete(listener);
  }

  private setDown(down: boolean): void {
    if (down === this.isDown) return;
    this.isDown = down;
    for (const f of this.downListeners) f(down);
  }

  private beginReboot(): void {
    this.setDown(true);
    setImmediate(() => {
      for (const s of this.sockets) s.destroy();
    });
    const faults = this.state.faults;
    if (faults.neverReturns) return;
    const delay = faults.rebootDelayMs ?? this.opts.rebootDelayMs ?? 300;
    this.rebootTimer = setTimeout(() => {
      this.rebootTimer = null;
      if (this.closed) return;
      this.state.completeReboot();
      if (this.state.phase === 'cut-off') return; // the boot took a device the host needs: unreachable
      if (this.state.faults.hostKeyChanged) {
        this.rotateHostKey();
        this.state.setFaults({ hostKeyChanged: false });
      }
      this.setDown(false);
    }, delay);
  }
}

export async function startSimHost(opts: StartSimHostOptions): Promise<RunningSimHost> {
  const s = new SimHostServer(opts.name, opts);
  await s.listen();
  return s;
}
