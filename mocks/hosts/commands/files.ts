/**
 * File commands of the dialect, with the exact forms of docs/architecture.md
 * and GNU coreutils / grep messages (C locale). Any other flag is a dialect
 * violation, not a silently accepted extra.
 */
import { createHash } from 'node:crypto';
import { DialectError } from '../dialect.js';
import type { CmdContext, Handler } from '../interpreter.js';
import { VfsError, dirname, normalize } from '../vfs.js';
import { isLockPath, onPmxcfs, type Pmxcfs } from '../pmxcfs.js';
import type { Vfs } from '../vfs.js';

export interface FileHost {
  readonly vfs: Vfs;
  writableByUser(path: string, uid: number): boolean;
  /** True once when the dropDuringWrite fault should fire for a `cat > path` (or right after `mv` onto path). */
  takeDropFault(path: string, at?: 'cat' | 'after-mv'): boolean;
  /** The cluster file system shared by the nodes of a cluster, mounted at /etc/pve (null: none). */
  readonly pmxcfs: Pmxcfs | null;
}

/** Thrown by `cat` to drop the connection mid-write. */
export type DropSignal = () => never;

function form(name: string, args: readonly string[]): DialectError {
  return new DialectError(`form: ${[name, ...args].join(' ').slice(0, 120)}`);
}

function denied(ctx: CmdContext, host: FileHost, path: string): boolean {
  // pmxcfs is read-only without quorum (pve-cluster: writes need a quorate cluster).
  if (host.pmxcfs && onPmxcfs(path) && !host.pmxcfs.quorate()) return true;
  return ctx.uid !== 0 && !host.writableByUser(path, ctx.uid);
}

export function fileCommands(host: FileHost, drop: DropSignal): Map<string, Handler> {
  const { vfs } = host;
  const m = new Map<string, Handler>();

  m.set('printf', (args, ctx) => {
    const [format, ...rest] = args;
    if (format === undefined) throw form('printf', args);
    const pieces = format.split(/(%s|\\n)/);
    for (const p of pieces) if (p !== '%s' && p !== '\\n' && /[%\\]/.test(p)) throw form('printf', args);
    const usesArg = pieces.includes('%s');
    let i = 0;
    do {
      let s = '';
      for (const p of pieces) s += p === '%s' ? rest[i++] ?? '' : p === '\\n' ? '\n' : p;
      ctx.out(s);
    } while (usesArg && i < rest.length);
    return 0;
  });

  m.set('cat', (args, ctx) => {
    if (args.some((a) => a.startsWith('-'))) throw form('cat', args);
    if (args.length === 0) {
      if (ctx.stdoutFile === null) throw form('cat (stdin not redirected to a file)', args);
      if (host.takeDropFault(ctx.stdoutFile)) {
        ctx.out(ctx.stdin.slice(0, Math.floor(ctx.stdin.length / 2)));
        drop();
      }
      ctx.out(ctx.stdin);
      return 0;
    }
    let rc = 0;
    for (const a of args) {
      try {
        ctx.out(vfs.read(a));
      } catch (e) {
        if (!(e instanceof VfsError)) throw e;
        ctx.err(`cat: ${a}: ${e.reason}\n`);
        rc = 1;
      }
    }
    return rc;
  });

  m.set('grep', (args, ctx) => {
    // grep -H . FILE… | grep -r -H '' DIR | grep -m 1 PATTERN FILE
    if (args[0] === '-H' && args[1] === '.' && args.length >= 3) return grepLines(args.slice(2), (l) => l !== '', true, ctx, 'file');
    if (args[0] === '-r' && args[1] === '-H' && args[2] === '' && args.length === 4) return grepLines([args[3]!], () => true, true, ctx, 'recursive');
    if (args[0] === '-m' && args[1] === '1' && args.length === 4) {
      let re: RegExp;
      try {
        re = new RegExp(args[2]!);
      } catch {
        ctx.err('grep: Unmatched ( or \\(\n');
        return 2;
      }
      return grepLines([args[3]!], (l) => re.test(l), false, ctx, 'file', 1);
    }
    throw form('grep', args);
  });

  function grepLines(paths: readonly string[], match: (l: string) => boolean, withName: boolean, ctx: CmdContext, mode: 'file' | 'recursive', max = Infinity): number {
    let found = 0;
    let error = false;
    for (const p of paths) {
      const node = vfs.get(p);
      if (!node) {
        ctx.err(`grep: ${p}: No such file or directory\n`);
        error = true;
        continue;
      }
      let files: string[];
      if (node.kind === 'dir') {
        if (mode !== 'recursive') {
          ctx.err(`grep: ${p}: Is a directory\n`);
          error = true;
          continue;
        }
        files = vfs.walkFiles(p);
      } else files = [p];
      for (const f of files) {
        const content = vfs.readOr(f) ?? '';
        if (content === '') continue;
        const lines = content.endsWith('\n') ? content.slice(0, -1).split('\n') : content.split('\n');
        let inFile = 0;
        for (const l of lines) {
          if (inFile >= max) break;
          if (!match(l)) continue;
          inFile++;
          found++;
          ctx.out(withName ? `${f}:${l}\n` : `${l}\n`);
        }
      }
    }
    return error ? 2 : found > 0 ? 0 : 1;
  }

  m.set('readlink', (args, ctx) => {
    if (args[0] !== '-f' || args.length < 2) throw form('readlink', args);
    let rc = 0;
    for (const a of args.slice(1)) {
      try {
        ctx.out(`${vfs.resolve(a).path}\n`);
      } catch (e) {
        if (!(e instanceof VfsError)) throw e;
        rc = 1;
      }
    }
    return rc;
  });

  m.set('stat', (args, ctx) => {
    if (args[0] !== '-c' || args[1] !== '%n %a %u %g' || args.length < 3) throw form('stat', args);
    let rc = 0;
    for (const a of args.slice(2)) {
      // Like coreutils stat without -L: a symlink is reported itself (mode 777), not its target.
      const node = vfs.get(a, false);
      if (!node) {
        ctx.err(`stat: cannot statx '${a}': No such file or directory\n`);
        rc = 1;
        continue;
      }
      ctx.out(`${a} ${node.mode.toString(8)} ${node.uid} ${node.gid}\n`);
    }
    return rc;
  });

  m.set('test', (args) => {
    if (args.length !== 2 || !['-d', '-e', '-f'].includes(args[0]!)) throw form('test', args);
    const node = vfs.get(args[1]!);
    if (args[0] === '-e') return node ? 0 : 1;
    if (args[0] === '-d') return node?.kind === 'dir' ? 0 : 1;
    return node?.kind === 'file' ? 0 : 1;
  });

  m.set('mkdir', (args, ctx) => {
    const parents = args[0] === '-p';
    const dirs = parents ? args.slice(1) : args;
    if (dirs.length !== 1 || dirs[0]!.startsWith('-')) throw form('mkdir', args);
    const dir = dirs[0]!;
    if (denied(ctx, host, dir)) {
      ctx.err(`mkdir: cannot create directory '${dir}': Permission denied\n`);
      return 1;
    }
    try {
      vfs.mkdir(dir, { parents });
      if (host.pmxcfs && onPmxcfs(normalize(dir))) host.pmxcfs.noteMkdir(normalize(dir));
      return 0;
    } catch (e) {
      if (!(e instanceof VfsError)) throw e;
      ctx.err(`mkdir: cannot create directory '${dir}': ${e.reason}\n`);
      return 1;
    }
  });

  m.set('rmdir', (args, ctx) => {
    if (args.length !== 1 || args[0]!.startsWith('-')) throw form('rmdir', args);
    if (denied(ctx, host, args[0]!)) {
      ctx.err(`rmdir: failed to remove '${args[0]}': Permission denied\n`);
      return 1;
    }
    try {
      vfs.rmdir(args[0]!);
      host.pmxcfs?.noteRemoved(normalize(args[0]!));
      return 0;
    } catch (e) {
      if (!(e instanceof VfsError)) throw e;
      ctx.err(`rmdir: failed to remove '${args[0]}': ${e.reason}\n`);
      return 1;
    }
  });

  m.set('cp', (args, ctx) => {
    if (args.length !== 3 || args[0] !== '-p') throw form('cp', args);
    const [, src, dst] = args as [string, string, string];
    const node = vfs.get(src);
    if (!node) {
      ctx.err(`cp: cannot stat '${src}': No such file or directory\n`);
      return 1;
    }
    if (node.kind !== 'file') {
      ctx.err(`cp: -r not specified; omitting directory '${src}'\n`);
      return 1;
    }
    if (denied(ctx, host, dst)) {
      ctx.err(`cp: cannot create regular file '${dst}': Permission denied\n`);
      return 1;
    }
    const target = vfs.get(dst)?.kind === 'dir' ? `${dst}/${src.slice(src.lastIndexOf('/') + 1)}` : dst;
    if (vfs.get(dirname(target))?.kind !== 'dir') {
      ctx.err(`cp: cannot create regular file '${dst}': No such file or directory\n`);
      return 1;
    }
    vfs.write(target, node.content, { mode: node.mode, uid: node.uid, gid: node.gid });
    return 0;
  });

  // `touch -c -m -d @0 PATH`: set the mtime to 0 without creating anything. On a pmxcfs lock
  // directory this is PVE's "cfs unlock request" (PVE::Cluster cfs_lock: `utime 0, 0, $filename`):
  // pmxcfs deletes the lock only when it is expired (older than 120 s) and empty.
  m.set('touch', (args, ctx) => {
    if (args.length !== 5 || args[0] !== '-c' || args[1] !== '-m' || args[2] !== '-d' || args[3] !== '@0') throw form('touch', args);
    const path = normalize(args[4]!);
    const node = vfs.get(path);
    if (!node) return 0;
    if (denied(ctx, host, path)) {
      ctx.err(`touch: setting times of '${args[4]}': Permission denied\n`);
      return 1;
    }
    if (host.pmxcfs && isLockPath(path) && node.kind === 'dir' && node.children.size === 0 && host.pmxcfs.lockExpired(path)) {
      vfs.rmdir(path);
      host.pmxcfs.noteRemoved(path);
    }
    return 0;
  });

  m.set('mv', (args, ctx) => {
    if (args.length !== 3 || args[0] !== '-f') throw form('mv', args);
    const [, src, dst] = args as [string, string, string];
    if (!vfs.get(src, false)) {
      ctx.err(`mv: cannot stat '${src}': No such file or directory\n`);
      return 1;
    }
    if (denied(ctx, host, dst) || denied(ctx, host, src)) {
      ctx.err(`mv: cannot move '${src}' to '${dst}': Permission denied\n`);
      return 1;
    }
    try {
      vfs.rename(src, dst);
      if (host.takeDropFault(dst, 'after-mv')) drop();
      return 0;
    } catch (e) {
      if (!(e instanceof VfsError)) throw e;
      ctx.err(`mv: cannot move '${src}' to '${dst}': ${e.reason}\n`);
      return 1;
    }
  });

  m.set('rm', (args, ctx) => {
    if (args[0] !== '-f' || args.length < 2) throw form('rm', args);
    let rc = 0;
    for (const a of args.slice(1)) {
      const node = vfs.get(a, false);
      if (!node) continue;
      if (node.kind === 'dir') {
        ctx.err(`rm: cannot remove '${a}': Is a directory\n`);
        rc = 1;
        continue;
      }
      if (denied(ctx, host, a)) {
        ctx.err(`rm: cannot remove '${a}': Permission denied\n`);
        rc = 1;
        continue;
      }
      vfs.unlink(a);
    }
    return rc;
  });

  m.set('chmod', (args, ctx) => {
    if (args.length !== 2 || !/^[0-7]{3,4}$/.test(args[0]!)) throw form('chmod', args);
    const node = vfs.get(args[1]!);
    if (!node) {
      ctx.err(`chmod: cannot access '${args[1]}': No such file or directory\n`);
      return 1;
    }
    if (ctx.uid !== 0 && node.uid !== ctx.uid) {
      ctx.err(`chmod: changing permissions of '${args[1]}': Operation not permitted\n`);
      return 1;
    }
    node.mode = Number.parseInt(args[0]!, 8) & 0o7777;
    return 0;
  });

  m.set('chown', (args, ctx) => {
    const owner = /^(\d+):(\d+)$/.exec(args[0] ?? '');
    if (args.length !== 2 || !owner) throw form('chown', args);
    const node = vfs.get(args[1]!);
    if (!node) {
      ctx.err(`chown: cannot access '${args[1]}': No such file or directory\n`);
      return 1;
    }
    if (ctx.uid !== 0) {
      ctx.err(`chown: changing ownership of '${args[1]}': Operation not permitted\n`);
      return 1;
    }
    node.uid = Number(owner[1]);
    node.gid = Number(owner[2]);
    return 0;
  });

  m.set('sync', (args, ctx) => {
    if (args.some((a) => a.startsWith('-'))) throw form('sync', args);
    let rc = 0;
    for (const a of args) {
      if (!vfs.get(a)) {
        ctx.err(`sync: error opening '${a}': No such file or directory\n`);
        rc = 1;
      }
    }
    return rc;
  });

  m.set('sha256sum', (args, ctx) => {
    // `sha256sum -c --status SUMFILE`: each line `<hex>  <path>`; exit 0 only when every file matches (coreutils).
    if (args[0] === '-c') {
      if (args.length !== 3 || args[1] !== '--status') throw form('sha256sum', args);
      let text: string;
      try {
        text = vfs.read(args[2]!);
      } catch (e) {
        if (!(e instanceof VfsError)) throw e;
        ctx.err(`sha256sum: ${args[2]}: ${e.reason}\n`);
        return 1;
      }
      const lines = text.split('\n').filter((l) => l !== '');
      if (lines.length === 0) return 1;
      for (const l of lines) {
        const m = /^([0-9a-f]{64}) [ *](.+)$/.exec(l);
        if (!m) return 1;
        const content = vfs.readOr(m[2]!);
        if (content === null || createHash('sha256').update(content, 'utf8').digest('hex') !== m[1]) return 1;
      }
      return 0;
    }
    if (args.length === 0 || args.some((a) => a.startsWith('-'))) throw form('sha256sum', args);
    let rc = 0;
    for (const a of args) {
      try {
        ctx.out(`${createHash('sha256').update(vfs.read(a), 'utf8').digest('hex')}  ${a}\n`);
      } catch (e) {
        if (!(e instanceof VfsError)) throw e;
        ctx.err(`sha256sum: ${a}: ${e.reason}\n`);
        rc = 1;
      }
    }
    return rc;
  });

  return m;
}
