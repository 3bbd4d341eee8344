import type { Script } from './shell.js';

export interface ExecResult {
  /** Exit status; null when the command was killed or the connection dropped. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The tool stopped the command at timeoutMs (code is null, stderr says so). */
  readonly timedOut?: boolean;
}

export interface ExecOptions {
  /** Bytes for the command's standard input (file content for the write form). */
  readonly stdin?: string | Buffer;
  readonly timeoutMs?: number;
}

/**
 * One host reached over one SSH connection for the whole run. Every remote
 * action goes through `exec` with a Script built by src/transport/shell.ts.
 */
export interface RemoteHost {
  readonly node: string;
  exec(script: Script, opts?: ExecOptions): Promise<ExecResult>;
  /** Number of SSH connections opened so far (1 per run, +1 per reboot). */
  readonly connectionsOpened: number;
  close(): Promise<void>;
}
