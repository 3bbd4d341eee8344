#!/usr/bin/env bash
# The systemd-boot variant of the e2e guest (stretch goal): UEFI (OVMF), a GPT disk whose first
# partition is a FAT ESP built with `mkfs.vfat -C` + mtools (systemd-boot, kernel and initrd on it,
# as proxmox-boot-tool lays them out), and ext4 root in partition 2. No loop devices.
#
#   scripts/qemu/build-esp-image.sh [CACHE_DIR]     (after build-image.sh; run as root)
#
# Produces CACHE_DIR/esp-disk.img (+ esp-image.stamp). The guest gets /etc/kernel/cmdline,
# /etc/kernel/proxmox-boot-uuids and scripts/qemu/proxmox-boot-tool.sh as /usr/sbin/proxmox-boot-tool,
# so pve-passthrough sees a systemd-boot host managed by proxmox-boot-tool.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-.cache/qemu}"
cache="$(cd "$cache" && pwd)"
stamp="$(cat "$here/build-image.sh" "$here/build-esp-image.sh" "$here/proxmox-boot-tool.sh" | sha256sum | cut -c1-16)"

if [ -f "$cache/esp-image.stamp" ] && [ "$(cat "$cache/esp-image.stamp")" = "$stamp" ] && [ -f "$cache/esp-disk.img" ]; then
  echo "build-esp-image: reusing $cache/esp-disk.img (stamp $stamp)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-esp-image: must run as root" >&2; exit 1; }
[ -f "$cache/rootfs.done" ] && [ -f "$cache/image.env" ] || { echo "build-esp-image: run build-image.sh first" >&2; exit 1; }
# shellcheck disable=SC1091
. "$cache/image.env"
kver="$KERNEL"

t0=$(date +%s)
phase() { echo "build-esp-image: [$(( $(date +%s) - t0 ))s] $*"; }

# systemd-boot's EFI binary from the archive (the package has no maintainer scripts to run).
efi="$cache/systemd-bootx64.efi"
if [ ! -f "$efi" ]; then
  phase "fetch systemd-boot-efi"
  tmp="$(mktemp -d)"
  (cd "$tmp" && apt-get download -q systemd-boot-efi >/dev/null && dpkg-deb -x systemd-boot-efi_*.deb x)
  cp "$tmp/x/usr/lib/systemd/boot/efi/systemd-bootx64.efi" "$efi"
  rm -rf "$tmp"
fi

# A copy of the tree, so the BIOS image's rootfs stays as it was.
phase "copy the guest tree"
tree="$cache/rootfs-esp"
# Nothing left mounted inside either tree by a killed run is copied or walked into (mounts.sh).
# shellcheck source=scripts/qemu/mounts.sh
. "$here/mounts.sh"
unmount_under "$cache/rootfs"
remove_tree "$tree"
cp -a -x --reflink=auto "$cache/rootfs" "$tree"

esp_id="7A1B33C4"           # mkfs.vfat -i: the volume id, shown as 7A1B-33C4 in /dev/disk/by-uuid
esp_uuid="7A1B-33C4"
esp_mib=128
size_mib=3072
root_start_mib=$(( 1 + esp_mib ))
cmdline="root=/dev/vda2 ro console=ttyS0 quiet"

echo "$cmdline" > "$tree/etc/kernel/cmdline"
echo "$esp_uuid" > "$tree/etc/kernel/proxmox-boot-uuids"
install -m 755 "$here/proxmox-boot-tool.sh" "$tree/usr/sbin/proxmox-boot-tool"
printf '/dev/vda2 / ext4 defaults,errors=remount-ro 0 1\n' > "$tree/etc/fstab"
# The FAT module is needed to mount the ESP at refresh time.
grep -qx vfat "$tree/etc/modules" 2>/dev/null || true

phase "build the ESP (mkfs.vfat -C + mtools)"
esp="$cache/esp.img"
rm -f "$esp"
mkfs.vfat -C -F 32 -n ESP -i "$esp_id" "$esp" $(( esp_mib * 1024 )) >/dev/null
export MTOOLS_SKIP_CHECK=1
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/EFI/systemd ::/EFI/proxmox ::/EFI/proxmox/"$kver" ::/loader ::/loader/entries
mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$efi" ::/EFI/systemd/systemd-bootx64.efi
mcopy -i "$esp" "$cache/vmlinuz" ::/EFI/proxmox/"$kver"/vmlinuz-"$kver"
mcopy -i "$esp" "$cache/initrd.img" ::/EFI/proxmox/"$kver"/initrd.img-"$kver"
printf 'timeout 0\ndefault proxmox-*\n' > "$cache/loader.conf"
printf 'title    Proxmox Virtual Environment\nversion  %s\noptions  %s\nlinux    /EFI/proxmox/%s/vmlinuz-%s\ninitrd   /EFI/proxmox/%s/initrd.img-%s\n' \
  "$kver" "$cmdline" "$kver" "$kver" "$kver" "$kver" > "$cache/entry.conf"
mcopy -i "$esp" "$cache/loader.conf" ::/loader/loader.conf
mcopy -i "$esp" "$cache/entry.conf" ::/loader/entries/proxmox-"$kver".conf
rm -f "$cache/loader.conf" "$cache/entry.conf"

phase "assemble esp-disk.img (GPT: ESP + ext4 root, no loop device)"
out="$cache/esp-disk.img.tmp"
rm -f "$out"
truncate -s "${size_mib}M" "$out"
sfdisk -q "$out" <<EOF
label: gpt
start=2048, size=$(( esp_mib * 2048 )), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp
start=$(( root_start_mib * 2048 )), type=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root
EOF
dd if="$esp" of="$out" bs=1M seek=1 conv=notrunc status=none
# Stop 1 MiB short of the end: GPT keeps its backup header there.
mkfs.ext4 -q -F -L pvpt-root -E offset=$(( root_start_mib * 1048576 )) -d "$tree" "$out" "$(( (size_mib - root_start_mib - 1) * 1024 ))k"
mv -f "$out" "$cache/esp-disk.img"
remove_tree "$tree"
rm -f "$esp"
echo "$stamp" > "$cache/esp-image.stamp"
phase "done: $cache/esp-disk.img (ESP $esp_uuid, kernel $kver)"
