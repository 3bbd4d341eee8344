#!/usr/bin/env bash
# Host packages for the QEMU end-to-end test (Debian/Ubuntu host, run as root).
# Skips apt entirely when every tool is already present, so repeated runs cost nothing.
set -euo pipefail

need=(qemu-system-x86_64 qemu-img debootstrap sfdisk mkfs.ext4 grub-mkimage mkfs.vfat mcopy ssh ssh-keygen zstd)
missing=0
for tool in "${need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing=1
done
[ -f /usr/share/OVMF/OVMF_CODE.fd ] || [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || missing=1
if [ "$missing" = 0 ]; then
  echo "install-deps: all tools present"
  exit 0
fi

if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing tools and not root; install: qemu-system-x86 qemu-utils debootstrap fdisk e2fsprogs grub-pc-bin grub2-common ovmf dosfstools mtools openssh-client zstd" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
  qemu-system-x86 qemu-utils debootstrap fdisk e2fsprogs \
  grub-pc-bin grub2-common ovmf dosfstools mtools openssh-client zstd ca-certificates
