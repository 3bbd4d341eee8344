/**
 * scripts/qemu/mounts.sh, as build-image.sh and build-esp-image.sh use it, against the real
 * mount(8)/umount(8): each case runs in a private mount namespace (`unshare --mount
 * --propagation private`, unshare(1)), so nothing it mounts is seen by, or left on, this machine.
 * The mounts are the ones debootstrap makes inside a guest tree (/usr/share/debootstrap/functions,
 * setup_proc: `mount -t proc proc $TARGET/proc`, sysfs on /sys; in a container a tmpfs /dev).
 * Needs root (CAP_SYS_ADMIN) and unshare: elsewhere the cases skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const MOUNTS = new URL('../../scripts/qemu/mounts.sh', import.meta.url).pathname;

/** Runs `body` with mounts.sh sourced, in a private mount namespace; T is a fresh temp dir. */
function inNamespace(body: string, t: string): { code: number | null; stdout: string; stderr: string } {
  const script = `set -euo pipefail\nT=${JSON.stringify(t)}\n. ${JSON.stringify(MOUNTS)}\n${body}`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', script], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function cannotMount(): string | null {
  const t = mkdtempSync(join(tmpdir(), 'pvpt-mounts-'));
  try {
    const r = inNamespace('mkdir "$T/m" && mount -t tmpfs none "$T/m"', t);
    return r.code === 0 ? null : `cannot mount in a private namespace here (needs root and unshare): ${r.stderr.trim() || `exit ${r.code}`}`;
  } finally {
    rmSync(t, { recursive: true, force: true });
  }
}

const why = cannotMount();
if (why) console.warn(`test/scripts/qemu-mounts.test.ts skipped: ${why}`);

/** What debootstrap leaves in a tree it was killed in: proc, sysfs, and a tmpfs /dev with a file in it. */
const DEBOOTSTRAP_MOUNTS = `
mkdir -p "$T/rootfs/proc" "$T/rootfs/sys" "$T/rootfs/dev" "$T/rootfs/etc"
echo keep > "$T/rootfs/etc/hostname"
mount -t proc proc "$T/rootfs/proc"
mount -t sysfs sysfs "$T/rootfs/sys"
mount -t tmpfs nodev "$T/rootfs/dev"
echo x > "$T/rootfs/dev/busy"
`;
const LEFT = 'echo "left:$(mounts_under "$T/rootfs" | tr "\\n" " ")"';

describe.skipIf(why !== null)('scripts/qemu/mounts.sh (real mount/umount, private namespace)', () => {
  let t = '';
  afterEach(() => {
    if (t) rmSync(t, { recursive: true, force: true });
  });
  const temp = () => (t = mkdtempSync(join(tmpdir(), 'pvpt-mounts-')));

  it('lists the mounts under a tree, last mounted first, and not the tree\'s neighbours', () => {
    const r = inNamespace(`${DEBOOTSTRAP_MOUNTS}mkdir "$T/rootfs-esp" && mount -t tmpfs none "$T/rootfs-esp"\nmounts_under "$T/rootfs"`, temp());
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toEqual([`${t}/rootfs/dev`, `${t}/rootfs/sys`, `${t}/rootfs/proc`]);
  });

  it('unmount_under leaves the tree with nothing mounted and its own files in place', () => {
    const r = inNamespace(`${DEBOOTSTRAP_MOUNTS}unmount_under "$T/rootfs"\n${LEFT}\ncat "$T/rootfs/etc/hostname"\nls -A "$T/rootfs/proc" | wc -l`, temp());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual(['left:', 'keep', '0', '']);
  });

  it('a busy mount is detached lazily (umount -l) instead of failing', () => {
    // fd 3 holds a file on the tmpfs open, so a plain umount fails with EBUSY.
    const r = inNamespace(`${DEBOOTSTRAP_MOUNTS}exec 3<"$T/rootfs/dev/busy"\nif umount "$T/rootfs/dev" 2>/dev/null; then echo not-busy; fi\nunmount_under "$T/rootfs"\n${LEFT}`, temp());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('left:');
  });

  it('remove_tree removes a tree that still has proc and sysfs mounted in it, and nothing outside it', () => {
    const r = inNamespace(`${DEBOOTSTRAP_MOUNTS}remove_tree "$T/rootfs"\ntest ! -e "$T/rootfs" && echo gone\ntest -r /proc/self/status && echo host-proc-intact`, temp());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['gone', 'host-proc-intact']);
  });

  it('unmount_on_exit: a run stopped by TERM (exit 143), or failing under set -e (exit 1), leaves nothing mounted', () => {
    for (const [stop, status] of [['kill -TERM $$', 143], ['false', 1]] as const) {
      const dir = temp();
      // The stopped run is a child bash in the same namespace; the parent reads the mount table after it.
      writeFileSync(join(dir, 'run.sh'), `set -euo pipefail\nT="$1"\n. "$2"\nunmount_on_exit "$T/rootfs"\n${DEBOOTSTRAP_MOUNTS}${stop}\necho not-reached\n`);
      const r = inNamespace(`if bash "$T/run.sh" "$T" ${JSON.stringify(MOUNTS)}; then echo status:0; else echo "status:$?"; fi\n${LEFT}`, dir);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.split('\n')).toEqual([`status:${status}`, 'left:', '']);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
