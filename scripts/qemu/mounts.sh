# shellcheck shell=bash
# Sourced by build-image.sh and build-esp-image.sh: file systems mounted inside a guest tree.
#
# debootstrap mounts proc and sysfs (and, in a container, a tmpfs /dev with bind-mounted device
# nodes) inside the tree it builds, and unmounts them from its own exit trap
# (/usr/share/debootstrap/functions: setup_proc, setup_devices_bind, umount_on_exit). A run killed
# hard (SIGKILL, a lost session) skips that trap and leaves them mounted; then `rm -rf` of the
# tree fails on busy mount points or walks into the host's /proc and /sys, and `cp -a` or
# `mkfs.ext4 -d` copies them into the image.

# The mount points at or under $1, in reverse mount order (a mount over another comes first).
mounts_under() {
  local dir="${1%/}"
  # mountinfo field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
  awk -v d="$dir" '{ p = $5; gsub(/\\040/, " ", p); gsub(/\\011/, "\t", p); gsub(/\\134/, "\\", p);
    if (p == d || index(p, d "/") == 1) print p }' /proc/self/mountinfo | tac
}

# Unmounts everything at or under $1 (lazily when busy); fails, naming what is left, if it cannot.
unmount_under() {
  local m left
  while IFS= read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done < <(mounts_under "$1")
  left="$(mounts_under "$1")"
  if [ -n "$left" ]; then
    echo "$(basename "$0"): still mounted under $1, not touching it: $(echo "$left" | tr '\n' ' ')" >&2
    return 1
  fi
}

# rm -rf that never crosses into another file system (a mount left inside the tree).
remove_tree() {
  unmount_under "$1"
  rm -rf --one-file-system "$1"
}

# Unmount what is left under the given trees when the script ends, however it ends (EXIT covers
# errors under set -e; INT and TERM exit through it with the usual 128+N status). A shell waits
# for its foreground child before running a trap, so debootstrap's own cleanup runs first.
unmount_on_exit() {
  unmount_trees=("$@")
  trap unmount_trees_now EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

unmount_trees_now() {
  local t
  for t in "${unmount_trees[@]}"; do unmount_under "$t" || true; done
}
