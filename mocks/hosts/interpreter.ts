/**
 * Runs a parsed dialect script over a simulated host: `;`/`&&`/`||` with sh
 * semantics (a skipped command keeps `$?`), redirections applied left to
 * right, globs expanded against the virtual file system, and the
 * `sudo -n sh -c` wrapper. Refusals are recorded as violations on the host.
 */
import { DialectError, parseScript, unwrapSudo } from './dialect.js';
import type { SimpleCommand } from './dialect.js';
import { VfsError } from './vfs.js';
import type { Vfs } from './vfs.js';

/** What a command handler sees. */
export interface CmdContext {
  readonly name: string;
  readonly uid: number;
  readonly stdin: string;
  /** Canonical path when stdout goes to a regular file (the write form's `cat > tmp`). */
  readonly stdoutFile: string | null;
  out(s: string): void;
  err(s: string): void;
  /** `sh: 1: <name>: not found`, 127 — the command does not exist on this host (not a dialect problem). */
  notFound(): number;
  requestReboot(): void;
}

export type Handler = (args: readonly string[], ctx: CmdContext) => number;

/** Everything the interpreter needs from the host. */
export interface ShellHost {
  readonly vfs: Vfs;
  readonly commands: ReadonlyMap<string, Handler>;
  recordViolation(script: string, message: string): void;
  /** Apply a write to a sysfs attribute; returns an errno text on refusal. */
  sysfsWrite(canonicalPath: string, value: string): string | null;
  /** Paths a non-root user may create files in. */
  writableByUser(path: string, uid: number): boolean;
}

/** The connection must drop now (fault injection); the rest of the script never runs. */
export class ConnectionDrop extends Error {
  constructor() {
    super('connection dropped');
  }
}

export interface RunOptions {
  readonly uid: number;
  readonly sudoAllowed: boolean;
  readonly stdin: string;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
  /** null when the connection dropped (no exit status). */
  readonly code: number | null;
  readonly reboot: boolean;
  readonly dropped: boolean;
}

type Sink =
  | { readonly kind: 'stdout' }
  | { readonly kind: 'stderr' }
  | { readonly kind: 'null' }
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'sys'; readonly path: string; buf: string };

export function runScript(host: ShellHost, script: string, opts: RunOptions): RunResult {
  let stdout = '';
  let stderr = '';
  const refuse = (e: DialectError, code: number): RunResult => {
    host.recordViolation(script, e.message);
    return { stdout, stderr: stderr + `${e.message}\n`, code, reboot: false, dropped: false };
  };
  let parsed;
  let uid = opts.uid;
  try {
    parsed = parseScript(script);
    const inner = unwrapSudo(parsed);
    if (inner !== null) {
      if (opts.uid === 0) throw new DialectError('sudo wrapper for a root login (run the script directly)');
      if (!opts.sudoAllowed) return { stdout: '', stderr: 'sudo: a password is required\n', code: 1, reboot: false, dropped: false };
      parsed = parseScript(inner);
      if (unwrapSudo(parsed) !== null) throw new DialectError('nested sudo');
      uid = 0;
    }
  } catch (e) {
    if (e instanceof DialectError) return refuse(e, 2);
    throw e;
  }

  let status = 0;
  let reboot = false;
  for (const { op, cmd } of parsed.commands) {
    if (op === '&&' && status !== 0) continue;
    if (op === '||' && status === 0) continue;
    try {
      status = runCommand(cmd, status);
    } catch (e) {
      if (e instanceof ConnectionDrop) return { stdout, stderr, code: null, reboot: false, dropped: true };
      if (e instanceof DialectError) {
        host.recordViolation(script, e.message);
        stderr += `${e.message}\n`;
        status = e.message.startsWith('dialect: unsupported command') ? 127 : 2;
        continue;
      }
      throw e;
    }
    if (reboot) break;
  }
  return { stdout, stderr, code: status, reboot, dropped: false };

  function runCommand(cmd: SimpleCommand, lastStatus: number): number {
    const nameWord = cmd.words[0]!;
    if (nameWord.glob || nameWord.status) throw new DialectError(`command name ${JSON.stringify(nameWord.text)}`);
    const name = nameWord.text;
    const handler = host.commands.get(name);
    if (!handler) throw new DialectError(`command '${name}'`);
    const args: string[] = [];
    for (const w of cmd.words.slice(1)) {
      if (w.status) {
        if (name !== 'printf') throw new DialectError(`"$?" outside printf (in ${name})`);
        args.push(String(lastStatus));
      } else if (w.glob) {
        const matches = host.vfs.glob(w.text);
        args.push(...(matches.length > 0 ? matches : [w.text]));
      } else {
        args.push(w.text);
      }
    }

    // Redirections, left to right.
    const fds: { 1: Sink; 2: Sink } = { 1: { kind: 'stdout' }, 2: { kind: 'stderr' } };
    for (const r of cmd.redirects) {
      if (r.kind === 'stdout-null') fds[1] = { kind: 'null' };
      else if (r.kind === 'stderr-null') fds[2] = { kind: 'null' };
      else if (r.kind === 'stderr-to-stdout') fds[2] = fds[1];
      else {
        const opened = openForWrite(r.path);
        if (typeof opened === 'string') {
          stderr += `sh: 1: cannot create ${r.path}: ${opened}\n`;
          return 2;
        }
        fds[1] = opened;
      }
    }
    const write = (sink: Sink, s: string): void => {
      if (s === '') return;
      switch (sink.kind) {
        case 'stdout': stdout += s; break;
        case 'stderr': stderr += s; break;
        case 'null': break;
        case 'file': host.vfs.append(sink.path, s); break;
        case 'sys': sink.buf += s; break;
      }
    };
    const ctx: CmdContext = {
      name,
      uid,
      stdin: opts.stdin,
      stdoutFile: fds[1].kind === 'file' ? fds[1].path : null,
      out: (s) => write(fds[1], s),
      err: (s) => write(fds[2], s),
      notFound: () => {
        write(fds[2], `sh: 1: ${name}: not found\n`);
        return 127;
      },
      requestReboot: () => {
        reboot = true;
      },
    };
    let code = handler(args, ctx);
    const sink = fds[1];
    if (sink.kind === 'sys' && sink.buf !== '') {
      const error = host.sysfsWrite(sink.path, sink.buf);
      if (error !== null) {
        write(fds[2], `sh: 1: ${name}: write error: ${error}\n`);
        if (code === 0) code = 1;
      }
    }
    return code;
  }

  /** `> path`: truncate/create, or a sysfs attribute sink. Returns the reason text on failure. */
  function openForWrite(path: string): Sink | string {
    if (path === '/dev/null') return { kind: 'null' };
    let canonical: string;
    try {
      const r = host.vfs.resolve(path);
      canonical = r.path;
      if (r.node?.kind === 'dir') return 'Is a directory';
    } catch (e) {
      if (e instanceof VfsError) return 'Directory nonexistent';
      throw e;
    }
    if (canonical.startsWith('/sys/')) {
      const node = host.vfs.get(canonical);
      if (!node || node.kind !== 'file') return 'Permission denied'; // sysfs never creates files
      if ((node.mode & 0o200) === 0) return 'Permission denied';
      return { kind: 'sys', path: canonical, buf: '' };
    }
    if (canonical.startsWith('/proc/') || canonical === '/proc') return 'Permission denied';
    if (uid !== 0 && !host.writableByUser(canonical, uid)) return 'Permission denied';
    host.vfs.write(canonical, '');
    return { kind: 'file', path: canonical };
  }
}
