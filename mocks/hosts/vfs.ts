/**
 * In-memory file system for a simulated host: files, directories and
 * symlinks (sysfs is mostly links), with the path rules of Linux: absolute
 * paths, `.`/`..` handled after symlink resolution, links followed in every
 * component but the last unless asked. Nothing here touches the real disk.
 */

export interface Meta {
  mode: number; // permission bits only, e.g. 0o644
  uid: number;
  gid: number;
}
export interface FileNode extends Meta {
  readonly kind: 'file';
  content: string;
}
export interface DirNode extends Meta {
  readonly kind: 'dir';
  readonly children: Map<string, VNode>;
}
export interface LinkNode extends Meta {
  readonly kind: 'link';
  target: string;
}
export type VNode = FileNode | DirNode | LinkNode;

/** errno-style failure, with the message the coreutils print after the path. */
export class VfsError extends Error {
  constructor(
    readonly errno: 'ENOENT' | 'ENOTDIR' | 'EISDIR' | 'EEXIST' | 'ENOTEMPTY' | 'ELOOP',
    readonly path: string,
  ) {
    super(`${path}: ${VfsError.text(errno)}`);
  }
  static text(errno: VfsError['errno']): string {
    switch (errno) {
      case 'ENOENT': return 'No such file or directory';
      case 'ENOTDIR': return 'Not a directory';
      case 'EISDIR': return 'Is a directory';
      case 'EEXIST': return 'File exists';
      case 'ENOTEMPTY': return 'Directory not empty';
      case 'ELOOP': return 'Too many levels of symbolic links';
    }
  }
  get reason(): string {
    return VfsError.text(this.errno);
  }
}

const MAX_LINKS = 40;

/** Split an absolute path into components, dropping empty ones and `.` (`..` is kept: it needs the real parent). */
export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

/** Lexical normalisation (no link resolution): used for link targets and for display. */
export function normalize(path: string): string {
  const out: string[] = [];
  for (const part of splitPath(path)) {
    if (part === '..') out.pop();
    else out.push(part);
  }
  return '/' + out.join('/');
}

export function dirname(path: string): string {
  const n = normalize(path);
  const i = n.lastIndexOf('/');
  return i <= 0 ? '/' : n.slice(0, i);
}
export function basename(path: string): string {
  const n = normalize(path);
  return n.slice(n.lastIndexOf('/') + 1);
}

export class Vfs {
  readonly root: DirNode = { kind: 'dir', children: new Map(), mode: 0o755, uid: 0, gid: 0 };

  /**
   * Resolve to a canonical path (every symlink followed, `readlink -f` style).
   * When `follow` is false the last component is not followed.
   * Returns the canonical path and the node (null when only the last component is missing).
   */
  resolve(path: string, follow = true): { path: string; node: VNode | null } {
    let budget = MAX_LINKS;
    const walk = (parts: string[], base: string[], followLast: boolean): { parts: string[]; node: VNode | null } => {
      let cur: string[] = [...base];
      let node: VNode = this.nodeAt(cur)!;
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i]!;
        const last = i === parts.length - 1;
        if (part === '..') {
          cur.pop();
          node = this.nodeAt(cur)!;
          continue;
        }
        if (node.kind !== 'dir') throw new VfsError('ENOTDIR', '/' + cur.join('/'));
        const child = node.children.get(part);
        if (!child) {
          if (last) return { parts: [...cur, part], node: null };
          throw new VfsError('ENOENT', '/' + [...cur, part].join('/'));
        }
        if (child.kind === 'link' && (!last || followLast)) {
          if (--budget < 0) throw new VfsError('ELOOP', '/' + [...cur, part].join('/'));
          const targetBase = child.target.startsWith('/') ? [] : cur;
          const r = walk(splitPath(child.target), targetBase, true);
          if (r.node === null && !last) throw new VfsError('ENOENT', '/' + r.parts.join('/'));
          cur = r.parts;
          if (r.node === null) return { parts: cur, node: null };
          node = r.node;
          continue;
        }
        cur = [...cur, part];
        node = child;
      }
      return { parts: cur, node };
    };
    const r = walk(splitPath(path), [], follow);
    return { path: '/' + r.parts.join('/'), node: r.node };
  }

  private nodeAt(parts: readonly string[]): VNode | null {
    let node: VNode = this.root;
    for (const p of parts) {
      if (node.kind !== 'dir') return null;
      const next = node.children.get(p);
      if (!next) return null;
      node = next;
    }
    return node;
  }

  /** The node at `path` following links, or null when missing (any component). */
  get(path: string, follow = true): VNode | null {
    try {
      return this.resolve(path, follow).node;
    } catch {
      return null;
    }
  }

  exists(path: string): boolean {
    return this.get(path) !== null;
  }

  /** Read a regular file (following links). Throws VfsError. */
  read(path: string): string {
    const node = this.resolve(path).node;
    if (!node) throw new VfsError('ENOENT', path);
    if (node.kind === 'dir') throw new VfsError('EISDIR', path);
    if (node.kind !== 'file') throw new VfsError('ENOENT', path);
    return node.content;
  }

  /** Read or null: for the simulator's own logic, never for command output. */
  readOr(path: string): string | null {
    try {
      return this.read(path);
    } catch {
      return null;
    }
  }

  /** Parent directory node of a path (which must exist and be a directory) plus the entry name. */
  private parentOf(path: string): { dir: DirNode; name: string; canonical: string } {
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined || name === '..') throw new VfsError('EISDIR', path);
    const r = this.resolve('/' + parts.join('/'));
    if (!r.node) throw new VfsError('ENOENT', path);
    if (r.node.kind !== 'dir') throw new VfsError('ENOTDIR', path);
    return { dir: r.node, name, canonical: (r.path === '/' ? '' : r.path) + '/' + name };
  }

  /** Create or truncate a regular file (through a final symlink, like `>` does). */
  write(path: string, content: string, meta: Partial<Meta> = {}): FileNode {
    const existing = this.get(path);
    if (existing?.kind === 'dir') throw new VfsError('EISDIR', path);
    if (existing?.kind === 'file') {
      existing.content = content;
      Object.assign(existing, meta);
      return existing;
    }
    const target = existing === null ? this.resolve(path).path : path;
    const { dir, name } = this.parentOf(target);
    const node: FileNode = { kind: 'file', content, mode: 0o644, uid: 0, gid: 0, ...meta };
    dir.children.set(name, node);
    return node;
  }

  append(path: string, content: string): void {
    const node = this.get(path);
    if (node?.kind === 'file') node.content += content;
    else this.write(path, content);
  }

  mkdir(path: string, opts: { parents?: boolean; meta?: Partial<Meta> } = {}): void {
    if (opts.parents) {
      let cur = '';
      for (const part of splitPath(normalize(path))) {
        cur += '/' + part;
        const node = this.get(cur);
        if (node === null) this.mkdir(cur, { meta: opts.meta });
        else if (node.kind !== 'dir') throw new VfsError(cur === normalize(path) ? 'EEXIST' : 'ENOTDIR', path);
      }
      return;
    }
    const { dir, name } = this.parentOf(path);
    if (dir.children.has(name)) throw new VfsError('EEXIST', path);
    dir.children.set(name, { kind: 'dir', children: new Map(), mode: 0o755, uid: 0, gid: 0, ...opts.meta });
  }

  symlink(path: string, target: string): void {
    const { dir, name } = this.parentOf(path);
    dir.children.set(name, { kind: 'link', target, mode: 0o777, uid: 0, gid: 0 });
  }

  /** Remove a file or link (not a directory). */
  unlink(path: string): void {
    const { dir, name } = this.parentOf(path);
    const node = dir.children.get(name);
    if (!node) throw new VfsError('ENOENT', path);
    if (node.kind === 'dir') throw new VfsError('EISDIR', path);
    dir.children.delete(name);
  }

  rmdir(path: string): void {
    const { dir, name } = this.parentOf(path);
    const node = dir.children.get(name);
    if (!node) throw new VfsError('ENOENT', path);
    if (node.kind !== 'dir') throw new VfsError('ENOTDIR', path);
    if (node.children.size > 0) throw new VfsError('ENOTEMPTY', path);
    dir.children.delete(name);
  }

  /** Remove a whole subtree (simulator bookkeeping: /run on reboot, regenerated /sys). */
  removeTree(path: string): void {
    try {
      const { dir, name } = this.parentOf(path);
      dir.children.delete(name);
    } catch {
      /* already gone */
    }
  }

  /** rename(2): replaces an existing non-directory target. */
  rename(from: string, to: string): void {
    const src = this.parentOf(from);
    const node = src.dir.children.get(src.name);
    if (!node) throw new VfsError('ENOENT', from);
    const existing = this.get(to);
    const dst = existing?.kind === 'dir' ? this.parentOf(`${this.resolve(to).path}/${src.name}`) : this.parentOf(to);
    const replaced = dst.dir.children.get(dst.name);
    if (replaced?.kind === 'dir') throw new VfsError('EISDIR', to);
    src.dir.children.delete(src.name);
    dst.dir.children.set(dst.name, node);
  }

  /** Entries of a directory (following links), sorted like `sh` sorts glob results (C locale, byte order). */
  list(path: string): string[] {
    const node = this.get(path);
    if (node?.kind !== 'dir') return [];
    return [...node.children.keys()].sort(byteOrder);
  }

  /**
   * Expand a glob where `*` matches within one path segment (never a leading dot),
   * as sh does. Returns the matching paths sorted; empty when nothing matches.
   */
  glob(pattern: string): string[] {
    const parts = splitPath(pattern);
    let paths = [''];
    for (const part of parts) {
      const next: string[] = [];
      if (!part.includes('*')) {
        for (const p of paths) {
          const candidate = `${p}/${part}`;
          if (part === '..' ? true : this.get(candidate, false) !== null) next.push(candidate);
        }
      } else {
        const re = new RegExp('^' + part.split('*').map(escapeRegExp).join('[^/]*') + '$');
        for (const p of paths) {
          for (const name of this.list(p === '' ? '/' : p)) {
            if (name.startsWith('.') && !part.startsWith('.')) continue;
            if (re.test(name)) next.push(`${p}/${name}`);
          }
        }
      }
      paths = next;
      if (paths.length === 0) return [];
    }
    return paths.sort(byteOrder);
  }

  /** Every regular file below a directory (not following links met on the way, like `grep -r`), sorted. */
  walkFiles(path: string): string[] {
    const out: string[] = [];
    const visit = (p: string, node: VNode): void => {
      if (node.kind === 'file') out.push(p);
      else if (node.kind === 'dir') for (const name of [...node.children.keys()].sort(byteOrder)) visit(`${p}/${name}`, node.children.get(name)!);
    };
    const start = this.get(path);
    if (start) visit(path.replace(/\/+$/, ''), start);
    return out;
  }
}

export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}
