#!/usr/bin/env bash
# Build (or reuse) the Debian guest image for the QEMU end-to-end test, without loop devices.
#
#   scripts/qemu/build-image.sh [CACHE_DIR]        (default: .cache/qemu; run as root)
#
# Produces in CACHE_DIR:
#   disk.img          BIOS/MBR disk: GRUB in the post-MBR gap, ext4 root in partition 1 (sparse, ~1 GB used)
#   id_ed25519(.pub)  the client key whose public half is root's authorized_keys in the guest
#   host_key.pub      the guest's SSH host public key (for a known_hosts line)
#   host_key.fp       the guest's SSH host key fingerprint ("SHA256:…", as `ssh-keygen -lf` prints it)
#   image.env         KERNEL=<guest kernel release>
#   image.stamp       hash of this script; a matching stamp means the image is reused as is
# and, for the optional systemd-boot variant (build-esp-image.sh), keeps rootfs/ around.
#
# The debootstrap tree (rootfs/, ~850 MB) is kept so that a change to the image recipe does not
# download everything again; delete CACHE_DIR to start from scratch.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
cache="${1:-.cache/qemu}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
suite="${QEMU_E2E_SUITE:-bookworm}"
stamp="$(cat "$here/build-image.sh" | sha256sum | cut -c1-16)"

if [ -f "$cache/image.stamp" ] && [ "$(cat "$cache/image.stamp")" = "$stamp" ] && [ -f "$cache/disk.img" ]; then
  echo "build-image: reusing $cache/disk.img (stamp $stamp)"
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "build-image: must run as root (debootstrap, file ownership in the image)" >&2; exit 1; }

# What debootstrap mounts inside the tree is unmounted however this script ends, and what a killed
# earlier run left mounted is unmounted before the tree is removed or reused (mounts.sh).
rootfs="$cache/rootfs"
# shellcheck source=scripts/qemu/mounts.sh
. "$here/mounts.sh"
unmount_on_exit "$rootfs"
unmount_under "$rootfs"

t0=$(date +%s)
phase() { echo "build-image: [$(( $(date +%s) - t0 ))s] $*"; }

# The mirror this machine already uses (deb822 or one-line form); deb.debian.org otherwise.
mirror="${QEMU_E2E_MIRROR:-}"
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list.d/debian.sources ]; then
  mirror="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' /etc/apt/sources.list.d/debian.sources)"
fi
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
  mirror="$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

if [ ! -f "$cache/rootfs.done" ]; then
  phase "debootstrap $suite from $mirror"
  remove_tree "$rootfs"
  debootstrap --variant=minbase \
    --include=systemd-sysv,udev,openssh-server,pciutils,kmod,iproute2,linux-image-amd64,initramfs-tools,grub-pc,procps,ca-certificates,zstd \
    "$suite" "$rootfs" "$mirror"
  touch "$cache/rootfs.done"
fi

phase "configure the guest tree"
kver="$(basename "$(ls -d "$rootfs"/lib/modules/* | sort -V | tail -n 1)")"
echo "pvpt-e2e" > "$rootfs/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 pvpt-e2e\n' > "$rootfs/etc/hosts"
echo '/dev/vda1 / ext4 defaults,errors=remount-ro 0 1' > "$rootfs/etc/fstab"

# SSH: a fresh client key, a single ed25519 host key whose fingerprint the inventory pins.
rm -f "$cache/id_ed25519" "$cache/id_ed25519.pub" "$rootfs"/etc/ssh/ssh_host_*
ssh-keygen -q -t ed25519 -N '' -C pvpt-e2e-client -f "$cache/id_ed25519"
ssh-keygen -q -t ed25519 -N '' -C pvpt-e2e-host -f "$rootfs/etc/ssh/ssh_host_ed25519_key"
ssh-keygen -lf "$rootfs/etc/ssh/ssh_host_ed25519_key.pub" | awk '{ print $2 }' > "$cache/host_key.fp"
cp "$rootfs/etc/ssh/ssh_host_ed25519_key.pub" "$cache/host_key.pub"
install -d -m 700 "$rootfs/root/.ssh"
install -m 600 "$cache/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
cat > "$rootfs/etc/ssh/sshd_config.d/pvpt-e2e.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
UseDNS no
EOF

# Network: DHCP on the virtio NIC only. The e1000e stays unconfigured so that it carries no
# address or default route, i.e. the tool may see it is not needed by the host.
mkdir -p "$rootfs/etc/systemd/network"
printf '[Match]\nDriver=virtio_net\n\n[Network]\nDHCP=ipv4\n' > "$rootfs/etc/systemd/network/20-virtio.network"
chroot "$rootfs" systemctl enable -q systemd-networkd.service
# Timers and waits that only cost time under emulation.
chroot "$rootfs" systemctl mask -q systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer e2scrub_reap.service fstrim.timer 2>/dev/null || true

# initramfs: MODULES=dep + zstd keeps an in-guest `update-initramfs -u` to minutes under TCG.
# The first image is built here at native speed with MODULES=list (a chroot cannot resolve "dep").
sed -i -e 's/^MODULES=.*/MODULES=dep/' -e 's/^#\?COMPRESS=.*/COMPRESS=zstd/' "$rootfs/etc/initramfs-tools/initramfs.conf"
grep -q '^COMPRESS=zstd' "$rootfs/etc/initramfs-tools/initramfs.conf" || echo 'COMPRESS=zstd' >> "$rootfs/etc/initramfs-tools/initramfs.conf"
cp "$rootfs/etc/initramfs-tools/initramfs.conf" "$cache/initramfs.conf.dep"
sed -i 's/^MODULES=.*/MODULES=list/' "$rootfs/etc/initramfs-tools/initramfs.conf"
printf 'virtio_pci\nvirtio_blk\next4\n' > "$rootfs/etc/initramfs-tools/modules"
chroot "$rootfs" update-initramfs -c -k "$kver" >/dev/null 2>&1 || chroot "$rootfs" update-initramfs -u -k "$kver"
cp "$cache/initramfs.conf.dep" "$rootfs/etc/initramfs-tools/initramfs.conf"
: > "$rootfs/etc/initramfs-tools/modules"
# Kept beside the image for the direct-boot and systemd-boot variants.
cp "$rootfs/boot/vmlinuz-$kver" "$cache/vmlinuz"
cp "$rootfs/boot/initrd.img-$kver" "$cache/initrd.img"

# GRUB (BIOS): Debian's defaults plus a serial console; a hand-made grub.cfg for the first boot.
cat > "$rootfs/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`
GRUB_CMDLINE_LINUX_DEFAULT="quiet"
GRUB_CMDLINE_LINUX="console=ttyS0"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOF
mkdir -p "$rootfs/boot/grub/i386-pc"
cp "$rootfs"/usr/lib/grub/i386-pc/*.mod "$rootfs"/usr/lib/grub/i386-pc/*.lst "$rootfs/boot/grub/i386-pc/"
cat > "$rootfs/boot/grub/grub.cfg" <<EOF
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry 'Debian (first boot)' {
  insmod part_msdos
  insmod ext2
  set root=(hd0,msdos1)
  linux /boot/vmlinuz-$kver root=/dev/vda1 ro quiet console=ttyS0
  initrd /boot/initrd.img-$kver
}
EOF
echo "KERNEL=$kver" > "$cache/image.env"

phase "assemble disk.img (MBR + GRUB core + ext4 at 1 MiB, no loop device)"
size_mib=3072
rm -f "$cache/disk.img.tmp"
truncate -s "${size_mib}M" "$cache/disk.img.tmp"
echo 'start=2048, type=83, bootable' | sfdisk -q "$cache/disk.img.tmp"
mkfs.ext4 -q -F -L pvpt-root -E offset=1048576 -d "$rootfs" "$cache/disk.img.tmp" "$(( (size_mib - 1) * 1024 ))k"
grub-mkimage -d "$rootfs/usr/lib/grub/i386-pc" -O i386-pc -o "$cache/core.img" \
  -p '(hd0,msdos1)/boot/grub' biosdisk part_msdos ext2
dd if="$rootfs/usr/lib/grub/i386-pc/boot.img" of="$cache/disk.img.tmp" bs=440 count=1 conv=notrunc status=none
dd if="$cache/core.img" of="$cache/disk.img.tmp" bs=512 seek=1 conv=notrunc status=none
mv -f "$cache/disk.img.tmp" "$cache/disk.img"
echo "$stamp" > "$cache/image.stamp"
phase "done: $cache/disk.img, kernel $kver, host key $(cat "$cache/host_key.fp")"
