/**
 * The cluster file system of a simulated PVE cluster: ONE directory tree
 * mounted at /etc/pve on every node of the cluster, so a process talking to
 * pve1 sees what another wrote through pve3. Lock semantics follow pmxcfs
 * (proxmox/pve-cluster src/pmxcfs/memdb.c, cfs-plug-memdb.c):
 *  - a directory under priv/lock/ is a lock; mkdir is atomic (EEXIST when held);
 *  - `utime(path, 0, 0)` on a lock directory is an *unlock request*: pmxcfs
 *    deletes the lock when it is older than CFS_LOCK_TIMEOUT (120 s) and empty,
 *    and otherwise leaves it alone (the holder keeps it);
 *  - without quorum the file system is read-only (writes: EACCES).
 * The simulator is single-threaded, so every operation is atomic here too.
 */
import type { DirNode } from './vfs.js';

export const CFS_LOCK_TIMEOUT_S = 120;

export class Pmxcfs {
  readonly root: DirNode = { kind: 'dir', children: new Map(), mode: 0o755, uid: 0, gid: 33 };
  /** lock path (below /etc/pve) -> cluster time (s) it was taken. */
  private readonly lockTimes = new Map<string, number>();
  /** Offset added to the real clock (tests move cluster time forward). */
  clockOffsetMs = 0;
  /** Set by the fleet: false while the cluster has no quorum. */
  quorate: () => boolean = () => true;

  constructor() {
    const priv: DirNode = { kind: 'dir', children: new Map(), mode: 0o700, uid: 0, gid: 33 };
    priv.children.set('lock', { kind: 'dir', children: new Map(), mode: 0o755, uid: 0, gid: 33 });
    this.root.children.set('priv', priv);
  }

  nowSeconds(): number {
    return Math.floor((Date.now() + this.clockOffsetMs) / 1000);
  }

  /** A directory was created under /etc/pve: remember when, if it is a lock. */
  noteMkdir(path: string): void {
    if (isLockPath(path)) this.lockTimes.set(path, this.nowSeconds());
  }

  noteRemoved(path: string): void {
    this.lockTimes.delete(path);
  }

  /** The unlock request: true when pmxcfs would delete this lock now. */
  lockExpired(path: string): boolean {
    const t = this.lockTimes.get(path);
    return t !== undefined && this.nowSeconds() - t > CFS_LOCK_TIMEOUT_S;
  }
}

/** `/etc/pve/priv/lock/<name>` (one level only, as pmxcfs' path_is_lockdir). */
export function isLockPath(path: string): boolean {
  return /^\/etc\/pve\/priv\/lock\/[^/]+$/.test(path);
}

export function onPmxcfs(path: string): boolean {
  return path === '/etc/pve' || path.startsWith('/etc/pve/');
}
