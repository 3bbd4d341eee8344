/**
 * A small real SSH server on loopback (ssh2 Server) for transport tests:
 * publickey auth, a handful of scripted commands, connection counting, and a
 * reboot that drops every session, refuses connections for a while and comes
 * back with a new boot_id.
 */
import { createHash, randomUUID } from 'node:crypto';
import ssh2 from 'ssh2';
import type { Connection, ParsedKey, ServerChannel } from 'ssh2';
import { BOOT_ID_SCRIPT, REBOOT_SCRIPT } from '../../../src/transport/ssh/reboot.js';
import { fingerprintOf } from '../../../src/transport/ssh/host-key.js';
import { generateKeyPair } from '../../../mocks/hosts/server.js';

const { Server, utils } = ssh2;

export type RebootMode =
  /** Drop every session at once, be down for `downMs`, come back with a new boot_id. */
  | 'drop'
  /** Answer exit 0 first (as systemctl does), then the same as drop. */
  | 'exit0-then-drop'
  /** Exit 0 and carry on: the reboot never happens. */
  | 'ignore'
  /** Drop and never come back. */
  | 'never'
  /** Refuse, as sudo without rights would. */
  | 'fail';

export interface TestServerOptions {
  /** Public keys (OpenSSH format) allowed to log in. */
  readonly authorizedKeys: readonly string[];
  readonly hostKey?: string;
  readonly rebootMode?: RebootMode;
  readonly downMs?: number;
}

export function parsedKey(text: string): ParsedKey {
  const k = utils.parseKey(text);
  if (k instanceof Error) throw k;
  return Array.isArray(k) ? (k[0] as ParsedKey) : k;
}

/** ed25519 pair; generateKeyPair draws again on the rare key ssh2 cannot parse back. */
export function newKeyPair(opts: { passphrase?: string } = {}): { private: string; public: string } {
  return opts.passphrase ? generateKeyPair({ passphrase: opts.passphrase, cipher: 'aes256-cbc', rounds: 4 }) : generateKeyPair();
}

/** Undo `sudo -n sh -c '<script>'` the way sh would. */
function unwrapSudo(command: string): { script: string; sudo: boolean } {
  const m = /^sudo -n sh -c '(.*)'$/s.exec(command);
  if (!m?.[1]) return { script: command, sudo: false };
  return { script: m[1].replace(/'\\''/g, "'"), sudo: true };
}

/** Public-key authentication against a list of allowed keys (signature checked), nothing else. */
export function acceptPublicKeys(client: Connection, allowed: readonly ParsedKey[]): void {
  client.on('authentication', (ctx) => {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    const key = allowed.find((k) => k.type === ctx.key.algo && k.getPublicSSH().equals(ctx.key.data));
    if (!key) return ctx.reject(['publickey']);
    if (ctx.signature && ctx.blob && key.verify(ctx.blob, ctx.signature, ctx.hashAlgo) !== true) return ctx.reject(['publickey']);
    ctx.accept();
  });
}

export class TestSshServer {
  readonly hostKeyPrivate: string;
  /** Wire-format public host key, as the client sees it. */
  readonly hostKeyBlob: Buffer;
  port = 0;
  bootId = randomUUID();
  /** TCP connections accepted, and those that finished authentication. */
  connections = 0;
  /** Connections open now (server side). */
  get openConnections(): number {
    return this.clients.size;
  }
  authenticated = 0;
  /** Every exec as received, and unwrapped. */
  readonly received: string[] = [];
  readonly executed: { script: string; sudo: boolean }[] = [];
  /** Channels of `sleep-forever` that the client closed (timeouts, dropped sessions). */
  abandonedChannels = 0;
  rebootMode: RebootMode;
  private readonly server: InstanceType<typeof Server>;
  private readonly clients = new Set<Connection>();
  private readonly allowed: ParsedKey[];
  private readonly downMs: number;

  private constructor(o: TestServerOptions) {
    this.hostKeyPrivate = o.hostKey ?? newKeyPair().private;
    this.hostKeyBlob = parsedKey(this.hostKeyPrivate).getPublicSSH();
    this.allowed = o.authorizedKeys.map(parsedKey);
    this.rebootMode = o.rebootMode ?? 'drop';
    this.downMs = o.downMs ?? 200;
    this.server = new Server({ hostKeys: [this.hostKeyPrivate] }, (client) => this.onClient(client));
  }

  static async start(o: TestServerOptions): Promise<TestSshServer> {
    const s = new TestSshServer(o);
    await s.listen(0);
    return s;
  }

  get fingerprint(): string {
    return fingerprintOf(this.hostKeyBlob);
  }

  /** Drop every session, as a dying sshd does. */
  dropAll(): void {
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.removeListener('error', reject);
        const addr = this.server.address();
        if (addr && typeof addr === 'object') this.port = addr.port;
        resolve();
      });
    });
  }

  private async reboot(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.dropAll();
    });
    if (this.rebootMode === 'never') return;
    await new Promise((r) => setTimeout(r, this.downMs));
    this.bootId = randomUUID();
    await this.listen(this.port);
  }

  private onClient(client: Connection): void {
    this.connections++;
    this.clients.add(client);
    client.on('error', () => { /* clients vanish mid-handshake in tests */ });
    client.on('close', () => this.clients.delete(client));
    acceptPublicKeys(client, this.allowed);
    client.on('ready', () => {
      this.authenticated++;
      client.on('session', (accept) => {
        accept().on('exec', (acceptExec, _reject, info) => this.onExec(acceptExec(), info.command));
      });
    });
  }

  private onExec(stream: ServerChannel, command: string): void {
    this.received.push(command);
    const { script, sudo } = unwrapSudo(command);
    this.executed.push({ script, sudo });
    const stdin: Buffer[] = [];
    stream.on('data', (d: Buffer) => stdin.push(d));
    const finish = (code: number, out: string | Buffer = '', err = ''): void => {
      if (out.length) stream.write(out);
      if (err) stream.stderr.write(err);
      stream.exit(code);
      stream.end();
    };
    const afterStdin = (fn: (input: Buffer) => void): void => {
      stream.on('end', () => fn(Buffer.concat(stdin)));
    };
    const words = script.split(' ').map((w) => w.replace(/^'|'$/g, ''));
    switch (words[0]) {
      case 'cat':
        if (script === BOOT_ID_SCRIPT) return finish(0, `${this.bootId}\n`);
        return afterStdin((input) => finish(0, input));
      case 'sha256sum':
        return afterStdin((input) => finish(0, `${createHash('sha256').update(input).digest('hex')} ${input.length}\n`));
      case 'exit':
        return finish(Number(words[1]), 'some output\n', `failing with ${words[1]} on purpose\n`);
      case 'both':
        return finish(0, 'to stdout\n', 'to stderr\n');
      case 'flood':
        return finish(0, Buffer.alloc(Number(words[1]), 0x41));
      case 'sleep-forever':
        stream.on('close', () => this.abandonedChannels++);
        return;
      case 'systemctl':
        if (script === REBOOT_SCRIPT) return this.onReboot(finish);
        break;
      default:
        break;
    }
    finish(127, '', `test server: unknown command ${script}\n`);
  }

  private onReboot(finish: (code: number, out?: string, err?: string) => void): void {
    switch (this.rebootMode) {
      case 'fail':
        return finish(1, '', 'sudo: a password is required\n');
      case 'ignore':
        return finish(0);
      case 'exit0-then-drop':
        finish(0);
        setTimeout(() => void this.reboot(), 20);
        return;
      case 'drop':
      case 'never':
        void this.reboot();
        return;
    }
  }
}
