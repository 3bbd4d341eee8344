/**
 * One exec on one channel: stdin in, stdout/stderr collected (capped), exit
 * status out. A timeout or a dropped connection yields `code: null`; only an
 * output overflow or a refused channel is thrown.
 */
import type { Client, ClientChannel } from 'ssh2';
import { SshError, type ErrorContext } from '../../errors.js';
import type { ExecResult } from '../types.js';
import { ErrorCode } from '../../error-codes.js';

export interface ChannelExecOptions {
  readonly stdin?: string | Buffer;
  readonly timeoutMs?: number;
  readonly maxOutputBytes: number;
  readonly context: ErrorContext;
}

/** Appended to stderr when the tool killed the command, so a caller printing stderr says why. */
export function timeoutNote(ms: number): string {
  return `[pve-passthrough] command timed out after ${formatMs(ms)}; its channel was closed`;
}
export const DROPPED_NOTE = '[pve-passthrough] the SSH connection closed before the command reported an exit status';

function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

class Capture {
  private readonly chunks: Buffer[] = [];
  size = 0;
  constructor(private readonly max: number) {}
  /** false once the cap is exceeded (the chunk is dropped). */
  push(chunk: Buffer): boolean {
    if (this.size + chunk.length > this.max) return false;
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export function execOnChannel(client: Client, command: string, o: ChannelExecOptions): Promise<ExecResult & { timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const onChannel = (err: Error | undefined, stream: ClientChannel): void => {
      if (err) {
        reject(new SshError(ErrorCode.SSH_EXEC, `could not open an SSH channel: ${err.message}`, { ...o.context, fix: 'check sshd MaxSessions and that the connection is alive' }, { cause: err }));
        return;
      }
      const out = new Capture(o.maxOutputBytes);
      const errOut = new Capture(o.maxOutputBytes);
      let code: number | null = null;
      let sawExit = false;
      let timedOut = false;
      let overflow: 'stdout' | 'stderr' | undefined;

      const kill = (): void => {
        try { stream.signal('KILL'); } catch { /* channel may already be gone */ }
        stream.close();
      };
      const timer = o.timeoutMs !== undefined ? setTimeout(() => { timedOut = true; kill(); }, o.timeoutMs) : undefined;

      stream.on('data', (d: Buffer) => { if (!overflow && !out.push(d)) { overflow = 'stdout'; kill(); } });
      stream.stderr.on('data', (d: Buffer) => { if (!overflow && !errOut.push(d)) { overflow = 'stderr'; kill(); } });
      stream.on('exit', (c: number | null) => {
        sawExit = true;
        code = typeof c === 'number' ? c : null; // killed by a signal: null
      });
      stream.on('error', () => { /* surfaces as close without exit */ });
      stream.once('close', () => {
        clearTimeout(timer);
        if (overflow) {
          reject(new SshError(ErrorCode.SSH_OUTPUT_TOO_LARGE, `the command's ${overflow} exceeded ${o.maxOutputBytes} bytes; it was stopped`, {
            ...o.context, fix: 'this output is not expected from a PVE host; inspect the node',
          }));
          return;
        }
        const notes: string[] = [];
        if (timedOut) notes.push(timeoutNote(o.timeoutMs ?? 0));
        else if (!sawExit) notes.push(DROPPED_NOTE);
        const stderr = errOut.text();
        resolve({
          code: timedOut ? null : code,
          stdout: out.text(),
          stderr: notes.length ? `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}${notes.join('\n')}\n` : stderr,
          timedOut,
        });
      });
      // Always send EOF so that commands reading stdin (cat > file) finish.
      if (o.stdin !== undefined) stream.end(o.stdin);
      else stream.end();
    };
    try {
      client.exec(command, onChannel);
    } catch (err) {
      // ssh2 throws synchronously when the socket is already gone.
      reject(new SshError(ErrorCode.SSH_CLOSED, `the SSH connection is closed: ${(err as Error).message}`, { ...o.context, fix: 'reconnect to the node' }, { cause: err }));
    }
  });
}
