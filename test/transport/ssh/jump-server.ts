/**
 * Real SSH servers on loopback for ProxyJump tests. A server may act as a jump
 * host: it answers `direct-tcpip` requests for names only it knows (its
 * private "DNS"), connecting out from its own loopback address. A server may
 * also accept TCP connections only from one such address, so it is reachable
 * through that jump host and nothing else (127.0.0.0/8 is all loopback on Linux).
 */
import { randomUUID } from 'node:crypto';
import { connect as tcpConnect, type Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import { fingerprintOf } from '../../../src/transport/ssh/host-key.js';
import { BOOT_ID_SCRIPT } from '../../../src/transport/ssh/reboot.js';
import { acceptPublicKeys, newKeyPair, parsedKey } from './test-server.js';

const { Server } = ssh2;

export interface LoopbackServerOptions {
  readonly name: string;
  readonly authorizedKeys: readonly string[];
  readonly hostKey?: string;
  /** Accept TCP only from this source address (the egress address of the jump host in front). */
  readonly onlyFrom?: string;
  /** As a jump host: connect out from this loopback address. */
  readonly egress?: string;
}

export class LoopbackSshServer {
  readonly name: string;
  readonly hostKeyBlob: Buffer;
  port = 0;
  readonly bootId = randomUUID();
  /** TCP connections accepted and refused (wrong source), sessions authenticated. */
  connections = 0;
  refused = 0;
  authenticated = 0;
  /** direct-tcpip requests answered, by requested name. */
  readonly forwarded: string[] = [];
  /** Sessions currently open. */
  get open(): number {
    return this.clients.size;
  }
  /** Names only this jump host can resolve -> loopback port. */
  readonly routes = new Map<string, () => number>();
  private readonly server: InstanceType<typeof Server>;
  private readonly clients = new Set<Connection>();
  private readonly sockets = new Set<Socket>();
  private readonly allowed: ParsedKey[];

  private constructor(private readonly o: LoopbackServerOptions) {
    this.name = o.name;
    const hostKey = o.hostKey ?? newKeyPair().private;
    this.hostKeyBlob = parsedKey(hostKey).getPublicSSH();
    this.allowed = o.authorizedKeys.map(parsedKey);
    this.server = new Server({ hostKeys: [hostKey] }, (client, info) => this.onClient(client, info.ip));
  }

  static async start(o: LoopbackServerOptions): Promise<LoopbackSshServer> {
    const s = new LoopbackSshServer(o);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(0, '127.0.0.1', () => {
        const addr = s.server.address();
        if (addr && typeof addr === 'object') s.port = addr.port;
        resolve();
      });
    });
    return s;
  }

  get fingerprint(): string {
    return fingerprintOf(this.hostKeyBlob);
  }

  /** Make `name` resolvable on this jump host only. */
  route(name: string, to: LoopbackSshServer): void {
    this.routes.set(name, () => to.port);
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.end();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onClient(client: Connection, ip: string): void {
    if (this.o.onlyFrom !== undefined && ip !== this.o.onlyFrom) {
      this.refused++;
      client.on('error', () => {});
      client.end();
      return;
    }
    this.connections++;
    this.clients.add(client);
    client.on('error', () => { /* peers vanish mid-handshake in tests */ });
    client.on('close', () => this.clients.delete(client));
    acceptPublicKeys(client, this.allowed);
    client.on('ready', () => {
      this.authenticated++;
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          const out = info.command === "'hostname'" ? `${this.name}\n` : info.command === BOOT_ID_SCRIPT ? `${this.bootId}\n` : undefined;
          if (out === undefined) stream.stderr.write(`unknown command ${info.command}\n`);
          else stream.write(out);
          stream.exit(out === undefined ? 127 : 0);
          stream.end();
        });
      });
      client.on('tcpip', (accept, reject, info) => this.onForward(accept, reject, info.destIP, info.destPort));
    });
  }

  private onForward(accept: () => ServerChannel, reject: () => void, destIP: string, destPort: number): void {
    const port = this.routes.get(destIP)?.();
    if (this.o.egress === undefined || port === undefined || destPort !== 22) return reject();
    this.forwarded.push(destIP);
    const sock = tcpConnect({ host: '127.0.0.1', port, localAddress: this.o.egress });
    this.sockets.add(sock);
    sock.once('close', () => this.sockets.delete(sock));
    let accepted = false;
    sock.once('error', () => {
      if (!accepted) reject();
    });
    sock.once('connect', () => {
      accepted = true;
      const channel = accept();
      channel.pipe(sock).pipe(channel);
      channel.on('close', () => sock.destroy());
      sock.on('close', () => channel.close());
    });
  }
}
