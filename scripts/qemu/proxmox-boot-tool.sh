#!/bin/sh
# A small stand-in for Proxmox's proxmox-boot-tool, installed as /usr/sbin/proxmox-boot-tool in the
# systemd-boot variant of the e2e guest (plain Debian has no proxmox-kernel-helper). It implements
# only what pve-passthrough calls, with the real tool's output shapes and exit codes:
#   status        "System currently booted with uefi" + "<UUID> is configured with: uefi (versions: …)";
#                 exit 2 and "E: /etc/kernel/proxmox-boot-uuids does not exist." when not set up
#   refresh       copy every /boot/vmlinuz-*/initrd.img-* to each ESP and write one systemd-boot entry
#                 per kernel whose options are the first line of /etc/kernel/cmdline
#   kernel list   the kernels that refresh would copy
set -eu

uuids=/etc/kernel/proxmox-boot-uuids

need_uuids() {
  if [ ! -f "$uuids" ]; then
    echo "E: $uuids does not exist." >&2
    exit 2
  fi
}

kernels() {
  for k in /boot/vmlinuz-*; do
    [ -e "$k" ] || continue
    v="${k#/boot/vmlinuz-}"
    [ -e "/boot/initrd.img-$v" ] && echo "$v"
  done
}

with_esp() { # $1 = UUID, $2 = function to run with the ESP mounted at $mnt
  dev="/dev/disk/by-uuid/$1"
  if [ ! -e "$dev" ]; then
    echo "WARN: $dev does not exist - clean '$uuids'! - skipping" >&2
    return 0
  fi
  mnt="$(mktemp -d /run/pvpt-esp.XXXXXX)"
  mount -t vfat "$dev" "$mnt"
  "$2" || { umount "$mnt"; rmdir "$mnt"; return 1; }
  umount "$mnt"
  rmdir "$mnt"
}

describe_esp() {
  if [ -f "$mnt/loader/loader.conf" ]; then
    versions="$(ls "$mnt/EFI/proxmox" 2>/dev/null | tr '\n' ',' | sed -e 's/,$//' -e 's/,/, /g')"
    echo "$uuid is configured with: uefi (versions: $versions)"
  else
    echo "$uuid is configured with: grub (versions: )"
  fi
}

sync_esp() {
  options="$(head -n 1 /etc/kernel/cmdline)"
  echo "Copying and configuring kernels on /dev/disk/by-uuid/$uuid"
  rm -rf "$mnt/EFI/proxmox" "$mnt"/loader/entries/proxmox-*.conf
  mkdir -p "$mnt/loader/entries"
  for v in $(kernels); do
    echo "	Copying kernel and creating boot-entry for $v"
    mkdir -p "$mnt/EFI/proxmox/$v"
    cp "/boot/vmlinuz-$v" "$mnt/EFI/proxmox/$v/vmlinuz-$v"
    cp "/boot/initrd.img-$v" "$mnt/EFI/proxmox/$v/initrd.img-$v"
    printf 'title    Proxmox Virtual Environment\nversion  %s\noptions  %s\nlinux    /EFI/proxmox/%s/vmlinuz-%s\ninitrd   /EFI/proxmox/%s/initrd.img-%s\n' \
      "$v" "$options" "$v" "$v" "$v" "$v" > "$mnt/loader/entries/proxmox-$v.conf"
  done
  printf 'timeout 0\ndefault proxmox-*\n' > "$mnt/loader/loader.conf"
  sync
}

case "${1:-}" in
  status)
    need_uuids
    if [ -d /sys/firmware/efi ]; then echo "System currently booted with uefi"; else echo "System currently booted with legacy bios"; fi
    grep -E '^[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}$' "$uuids" | while read -r uuid; do with_esp "$uuid" describe_esp; done
    ;;
  refresh)
    need_uuids
    echo "Running hook script 'proxmox-auto-removal'.."
    echo "Running hook script 'zz-proxmox-boot'.."
    if [ ! -f /etc/kernel/cmdline ]; then echo "E: /etc/kernel/cmdline does not exist" >&2; exit 1; fi
    grep -E '^[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}$' "$uuids" | while read -r uuid; do with_esp "$uuid" sync_esp; done
    ;;
  kernel)
    [ "${2:-}" = list ] || { echo "usage: proxmox-boot-tool kernel list" >&2; exit 1; }
    echo "Automatically selected kernels:"
    kernels
    ;;
  *)
    echo "usage: proxmox-boot-tool status|refresh|kernel list (e2e stand-in)" >&2
    exit 1
    ;;
esac
