/**
 * The one way to build a remote command (see docs/architecture.md, "Remote
 * command dialect"). Every argument is single-quoted; nothing from outside the
 * tool ever reaches a shell any other way. mocks/ interprets exactly this
 * dialect, so anything built here must stay inside it.
 */
import { ErrorCode } from '../error-codes.js';
import { SafetyError, SshError } from '../errors.js';

/** A command as argv plus optional redirections; rendered by `render`. */
export interface Cmd {
  readonly argv: readonly string[];
  /** `2>/dev/null` */
  readonly quietErrors?: boolean;
  /** `2>&1` */
  readonly mergeErrors?: boolean;
  /** `> 'path'` (stdout to a file) */
  readonly stdoutTo?: string;
  /** Words the tool itself wrote that must stay unquoted so the shell expands them (globs, `"$?"`). */
  readonly raw?: readonly number[];
}

export class UnsafeArgumentError extends SafetyError {
  constructor(readonly argument: string, reason: string) {
    super(ErrorCode.UNSAFE_ARGUMENT, `refusing to build a remote command: argument ${JSON.stringify(argument.slice(0, 80))} ${reason}`);
  }
}

/** Single-quote one word for POSIX sh. Rejects NUL and newlines outright. */
export function quote(word: string): string {
  if (word.includes('\0')) throw new UnsafeArgumentError(word, 'contains a NUL byte');
  if (/[\r\n]/.test(word)) throw new UnsafeArgumentError(word, 'contains a line break');
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Raw (unquoted) words are allowed only in this shape: tool-written paths with `*` globs, and `"$?"`. */
const RAW_WORD = /^(?:"\$\?"|[A-Za-z0-9_./:@%+=,-]*\*?[A-Za-z0-9_./:@%+=,*-]*)$/;

export function cmd(argv: readonly string[], opts: Omit<Cmd, 'argv'> = {}): Cmd {
  if (argv.length === 0) throw new Error('empty command');
  return { argv, ...opts };
}

/** A path glob the tool itself wrote (never user input), left for the shell to expand. */
export function glob(pattern: string): { argv: string[]; raw: number[] } {
  if (!RAW_WORD.test(pattern)) throw new UnsafeArgumentError(pattern, 'is not a plain glob');
  return { argv: [pattern], raw: [0] };
}

export function render(c: Cmd): string {
  const words = c.argv.map((w, i) => {
    if (c.raw?.includes(i)) {
      if (!RAW_WORD.test(w)) throw new UnsafeArgumentError(w, 'may not stay unquoted');
      return w;
    }
    return quote(w);
  });
  if (c.stdoutTo !== undefined) words.push('>', quote(c.stdoutTo));
  if (c.mergeErrors) words.push('2>&1');
  if (c.quietErrors) words.push('2>/dev/null');
  return words.join(' ');
}

export type Script = string & { readonly __script: unique symbol };

/** Join commands: `all` with `&&` (stop at the first failure), `seq` with `;`. */
export function all(...cmds: readonly (Cmd | Script)[]): Script {
  return cmds.map(toText).join(' && ') as Script;
}
export function seq(...cmds: readonly (Cmd | Script)[]): Script {
  return cmds.map(toText).join('; ') as Script;
}
export function orElse(a: Cmd | Script, b: Cmd | Script): Script {
  return `${toText(a)} || ${toText(b)}` as Script;
}
function toText(c: Cmd | Script): string {
  return typeof c === 'string' ? c : render(c);
}

/** Non-root users: the whole script runs under `sudo -n sh -c '<script>'` (never prompts). */
export function withSudo(script: Script, sudo: boolean): Script {
  return (sudo ? `sudo -n sh -c ${quote(script)}` : script) as Script;
}

// ---------------------------------------------------------------------------
// Batched reads: many sections in one exec, split again by a per-run nonce so
// that hostile output cannot forge a section boundary.
// ---------------------------------------------------------------------------

export interface Section {
  /** Stable key, e.g. `file:/etc/default/grub` or `lspci`. [A-Za-z0-9:/._-]+ */
  readonly key: string;
  readonly cmd: Cmd;
}

export interface SectionResult {
  readonly output: string;
  /** Exit status of the section's command (127 = not found). */
  readonly rc: number;
}

const KEY = /^[A-Za-z0-9:/._*-]+$/;
const NONCE = /^[a-f0-9]{8,32}$/;

/**
 * Renders: for each section
 *   printf '@@<nonce> %s\n' '<key>'; <cmd> 2>&1; printf '\n@@<nonce> rc=%s\n' "$?"
 * The content of a section is exactly the bytes between the two markers.
 */
export function batch(sections: readonly Section[], nonce: string): Script {
  if (!NONCE.test(nonce)) throw new Error('nonce must be 8-32 lowercase hex characters');
  const parts: string[] = [];
  for (const s of sections) {
    if (!KEY.test(s.key)) throw new UnsafeArgumentError(s.key, 'is not a valid section key');
    parts.push(
      render(cmd(['printf', `@@${nonce} %s\\n`, s.key])),
      render({ ...s.cmd, mergeErrors: !s.cmd.quietErrors }),
      render(cmd(['printf', `\\n@@${nonce} rc=%s\\n`, '"$?"'], { raw: [2] })),
    );
  }
  return parts.join('; ') as Script;
}

/** The output of `batch` lost or broke a section marker (e.g. truncated output). */
export class BatchParseError extends SshError {
  constructor(message: string) {
    super(ErrorCode.BATCH_PARSE, message);
  }
}

/** Splits the output of `batch`. Missing sections are absent from the map; never throws on content. */
export function parseBatch(stdout: string, nonce: string): Map<string, SectionResult> {
  const out = new Map<string, SectionResult>();
  const open = `@@${nonce} `;
  let pos = 0;
  while (true) {
    const start = stdout.indexOf(open, pos);
    if (start < 0) break;
    if (start > 0 && stdout[start - 1] !== '\n') {
      pos = start + open.length;
      continue;
    }
    const eol = stdout.indexOf('\n', start);
    if (eol < 0) break;
    const key = stdout.slice(start + open.length, eol);
    const closeMarker = `\n@@${nonce} rc=`;
    const close = stdout.indexOf(closeMarker, eol);
    if (close < 0) throw new BatchParseError(`section ${key} has no end marker (output truncated?)`);
    const rcEnd = stdout.indexOf('\n', close + closeMarker.length);
    const rcText = stdout.slice(close + closeMarker.length, rcEnd < 0 ? undefined : rcEnd);
    const rc = Number.parseInt(rcText, 10);
    if (!KEY.test(key) || !Number.isFinite(rc)) throw new BatchParseError(`malformed section marker near ${JSON.stringify(key.slice(0, 40))}`);
    out.set(key, { output: stdout.slice(eol + 1, close), rc });
    pos = rcEnd < 0 ? stdout.length : rcEnd + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------
// The one file-write form. Content always travels on stdin, never in argv.
// ---------------------------------------------------------------------------

export const STATE_DIR = '/var/lib/pve-passthrough';
export const LOCK_DIR = '/run/pve-passthrough.lock';

const ABS_PATH = /^\/(?:[A-Za-z0-9_.+@-]+\/)*[A-Za-z0-9_.+@-]+$/;

/** Remote paths the tool touches must be plain absolute paths (no `..`, no spaces, no metacharacters). */
export function assertRemotePath(path: string): string {
  if (!ABS_PATH.test(path) || path.split('/').some((p) => p === '..' || p === '.')) {
    throw new UnsafeArgumentError(path, 'is not a plain absolute path');
  }
  return path;
}

function dirOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function backupPathFor(runId: string, path: string): string {
  // First character alphanumeric: no `.`/`..` (a path outside backups/) and nothing option-looking.
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(runId)) throw new UnsafeArgumentError(runId, 'is not a valid run id');
  return `${STATE_DIR}/backups/${runId}${assertRemotePath(path)}`;
}

export interface WriteOptions {
  /** Octal mode string such as `0644`. */
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  /** Where to copy the current file first (`cp -p` keeps mode and owner); omit when the file does not exist. */
  readonly backupTo?: string;
  /** sha256 (hex) of the content sent on stdin: checked before the rename (contentCheck). */
  readonly sha256?: string;
}

/**
 * `printf '%s  %s\n' <sha256> <tmp> > <sum> && sha256sum -c --status <sum> && rm -f <sum>`:
 * the temporary file holds exactly the bytes meant for it. A client killed
 * (or a connection cut) mid-stdin closes the channel, `cat` sees EOF and
 * exits 0 with a short or empty file; without this check the rename would
 * put that file in place.
 */
function contentCheck(tmp: string, sha256: string): Cmd[] {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new UnsafeArgumentError(sha256, 'is not a sha256 hex digest');
  const sum = tmp.replace(/\.pvpt-tmp$/, '.sum.pvpt-tmp');
  return [
    cmd(['printf', '%s  %s\\n', sha256, tmp], { stdoutTo: sum }),
    cmd(['sha256sum', '-c', '--status', sum]),
    cmd(['rm', '-f', sum]),
  ];
}

/**
 * mkdir -p <backupdir> && cp -p <target> <backup> &&
 * cat > <tmp> && [contentCheck] && chmod <mode> <tmp> && chown <uid>:<gid> <tmp> && sync <tmp> && mv -f <tmp> <target> && sync <dir>
 * The new content is the exec's stdin. On any failure before `mv`, the target is untouched.
 */
export function atomicWrite(path: string, o: WriteOptions): Script {
  assertRemotePath(path);
  if (!/^0[0-7]{3}$/.test(o.mode)) throw new UnsafeArgumentError(o.mode, 'is not an octal mode');
  if (!Number.isInteger(o.uid) || !Number.isInteger(o.gid) || o.uid < 0 || o.gid < 0) throw new Error('uid/gid must be non-negative integers');
  const dir = dirOf(path);
  const tmp = `${dir}/.${path.slice(dir.length + 1)}.pvpt-tmp`;
  const steps: Cmd[] = [];
  if (o.backupTo) steps.push(...backupCmds(path, o.backupTo));
  steps.push(
    cmd(['mkdir', '-p', dir]),
    cmd(['cat'], { stdoutTo: tmp }),
    ...(o.sha256 ? contentCheck(tmp, o.sha256) : []),
    cmd(['chmod', o.mode, tmp]),
    cmd(['chown', `${o.uid}:${o.gid}`, tmp]),
    cmd(['sync', tmp]),
    cmd(['mv', '-f', tmp, path]),
    cmd(['sync', dir]),
  );
  return all(...steps);
}

/** Backup (when given) then remove. */
export function removeFile(path: string, backupTo?: string): Script {
  assertRemotePath(path);
  const steps: Cmd[] = backupTo ? backupCmds(path, backupTo) : [];
  steps.push(cmd(['rm', '-f', path]), cmd(['sync', dirOf(path)]));
  return all(...steps);
}

function backupCmds(path: string, backupTo: string): Cmd[] {
  assertRemotePath(backupTo);
  return [cmd(['mkdir', '-p', dirOf(backupTo)]), cmd(['cp', '-p', path, backupTo])];
}

/**
 * The backup, copied on the host so it holds the file's actual bytes, mode
 * and owner, then hashed there (the caller compares the hash with the plan's
 * `before`: compare-and-swap). Exit 1 with empty output: the target does not exist.
 *   test -e <target> && mkdir -p <backupdir> && cp -p <target> <backup> && sha256sum <backup>
 */
export function snapshotFile(path: string, backupTo: string): Script {
  assertRemotePath(path);
  return all(cmd(['test', '-e', path]), ...backupCmds(path, backupTo), cmd(['sha256sum', backupTo]));
}

/**
 * Put a backup's bytes back (byte-exact: no final newline, non-UTF-8 bytes,
 * mode and owner kept by `cp -p`), atomically through a temporary file:
 *   mkdir -p <dir> && cp -p <backup> <tmp> && sync <tmp> && mv -f <tmp> <target> && sync <dir>
 */
export function restoreFromBackup(path: string, backup: string): Script {
  assertRemotePath(path);
  assertRemotePath(backup);
  const dir = dirOf(path);
  const tmp = `${dir}/.${path.slice(dir.length + 1)}.pvpt-tmp`;
  return all(cmd(['mkdir', '-p', dir]), cmd(['cp', '-p', backup, tmp]), cmd(['sync', tmp]), cmd(['mv', '-f', tmp, path]), cmd(['sync', dir]));
}

/** `sha256sum <file>`; exit 1 (stderr silenced) when it does not exist. */
export function hashFile(path: string): Script {
  return render(cmd(['sha256sum', assertRemotePath(path)], { quietErrors: true })) as Script;
}

/**
 * `mkdir` is atomic: it fails when another run holds the lock. /run is tmpfs, so a reboot clears it.
 * With a run id, `mkdir <lock>/<run-id>` names the holder, so that a run which took over the lease
 * of a dead run can tell the dead run's node lock from a live one (lockHolder).
 */
export function takeLock(runId?: string): Script {
  const take = cmd(['mkdir', LOCK_DIR]);
  return (runId === undefined ? render(take) : all(take, cmd(['mkdir', lockOwnerDir(runId)]))) as Script;
}
export function releaseLock(runId?: string): Script {
  const drop = cmd(['rmdir', LOCK_DIR], { quietErrors: true });
  return (runId === undefined ? render(drop) : seq(cmd(['rmdir', lockOwnerDir(runId)], { quietErrors: true }), drop)) as Script;
}
/** `printf '%s\n' /run/pve-passthrough.lock/*`: the holder's run id, as a path. */
export function lockHolder(): Script {
  return render(cmd(['printf', '%s\\n', `${LOCK_DIR}/*`], { raw: [2] })) as Script;
}
function lockOwnerDir(runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(runId)) throw new UnsafeArgumentError(runId, 'is not a valid run id');
  return `${LOCK_DIR}/${runId}`;
}

// ---------------------------------------------------------------------------
// The run lease (docs/architecture.md, "Run lease"): a record file guarded by
// a short-lived lock directory, the way PVE's cfs_lock_* guards its files.
// ---------------------------------------------------------------------------

/** `mkdir -p <parent> && mkdir <guard>`: fails while another process holds the guard. */
export function takeGuard(guard: string): Script {
  assertRemotePath(guard);
  return all(cmd(['mkdir', '-p', dirOf(guard)]), cmd(['mkdir', guard]));
}

/** `rmdir <guard>` (errors quiet: it may be gone already). */
export function releaseGuard(guard: string): Script {
  return render(cmd(['rmdir', assertRemotePath(guard)], { quietErrors: true })) as Script;
}

/**
 * `touch -c -m -d @0 <guard>`: PVE's "cfs unlock request" (utime 0, 0). On
 * pmxcfs the lock directory is deleted only if it is older than 120 s; `-c`
 * so that it never creates a file where the directory just went away.
 */
export function unlockRequest(guard: string): Script {
  return render(cmd(['touch', '-c', '-m', '-d', '@0', assertRemotePath(guard)], { quietErrors: true })) as Script;
}

/** The lease record and the host's clock, in one read. */
export function readLease(record: string, nonce: string): Script {
  return batch([
    { key: 'lease', cmd: cmd(['cat', assertRemotePath(record)], { quietErrors: true }) },
    { key: 'now', cmd: cmd(['date', '+%s']) },
  ], nonce);
}

/** Record on stdin: `mkdir -p <dir> && cat > <tmp> && [contentCheck] && mv -f <tmp> <record>` (no chmod/chown: pmxcfs has fixed modes). */
export function writeLease(record: string, sha256: string): Script {
  const dir = dirOf(assertRemotePath(record));
  const tmp = `${record}.pvpt-tmp`;
  return all(cmd(['mkdir', '-p', dir]), cmd(['cat'], { stdoutTo: tmp }), ...contentCheck(tmp, sha256), cmd(['mv', '-f', tmp, record]));
}

export function removeLease(record: string): Script {
  return render(cmd(['rm', '-f', assertRemotePath(record)])) as Script;
}

/** HA maintenance of a node (PVE >= 7.3; pve-docs ha-manager.adoc): HA moves its resources away, and back when disabled. */
export function haMaintenance(action: 'enable' | 'disable', node: string): Script {
  return render(cmd(['ha-manager', 'crm-command', 'node-maintenance', action, node], { mergeErrors: true })) as Script;
}
