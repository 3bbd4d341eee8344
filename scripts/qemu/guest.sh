#!/usr/bin/env bash
# Start, reach and stop the e2e guest (q35 + emulated Intel VT-d, TCG; no KVM needed).
#
#   scripts/qemu/guest.sh start    RUN_DIR PORT [bios|uefi] [EXTRAS]  boot a fresh copy-on-write overlay of the cached image
#                                                             (EXTRAS, comma-separated: twin = a second, identical e1000e
#                                                             at 00:05.0; spare = an e1000 8086:100e at 00:06.0)
#   scripts/qemu/guest.sh wait-ssh RUN_DIR PORT [SECONDS]    until `ssh root@127.0.0.1 -p PORT true` succeeds
#   scripts/qemu/guest.sh ssh      RUN_DIR PORT CMD…         run CMD in the guest (host key pinned)
#   scripts/qemu/guest.sh stop     RUN_DIR                   power off (QEMU "quit"), then kill if needed
#
# Environment: QEMU_E2E_CACHE (default .cache/qemu), QEMU_E2E_ACCEL (default tcg,thread=multi),
# QEMU_E2E_MEM (MiB, default 2048), QEMU_E2E_SMP (default 2).
# Guest PCI layout (fixed addresses, so the inventory can name the device):
#   00:02.0 virtio-net (SSH via hostfwd)   00:03.0 e1000e 8086:10d3 (the device passed through)
#   00:04.0 virtio-blk (root disk)         00:01.0 VGA, 00:1f.x ICH9 functions
#   00:05.0 e1000e 8086:10d3, only with `twin` (the identical device that must stay with the host)
#   00:06.0 e1000 8086:100e, only with `spare` (a second, different device for a changed declaration)
set -euo pipefail

cache="$(cd "${QEMU_E2E_CACHE:-.cache/qemu}" && pwd)"
action="${1:?usage: guest.sh start|wait-ssh|ssh|stop RUN_DIR …}"
run="${2:?RUN_DIR missing}"

ssh_opts() {
  # known_hosts built from the key generated at image build time: no TOFU, no ~/.ssh writes.
  local port="$1"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1-2 "$cache/host_key.pub")" > "$run/known_hosts"
  echo -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$run/known_hosts" \
    -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=10 -o LogLevel=ERROR \
    -i "$cache/id_ed25519" -p "$port"
}

case "$action" in
  start)
    port="${3:?PORT missing}"
    firmware="${4:-bios}"
    extra=()
    extras="${5:-}"
    for x in ${extras//,/ }; do
      case "$x" in
        twin) extra+=(-netdev user,id=n2,restrict=on -device e1000e,netdev=n2,addr=0x5) ;;
        spare) extra+=(-netdev user,id=n3,restrict=on -device e1000,netdev=n3,addr=0x6) ;;
        *) echo "guest: unknown extra device $x (twin, spare)" >&2; exit 2 ;;
      esac
    done
    mkdir -p "$run"
    if [ -f "$run/qemu.pid" ] && kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null; then
      echo "guest: already running (pid $(cat "$run/qemu.pid"))" >&2; exit 1
    fi
    rm -f "$run/disk.qcow2" "$run/serial.log" "$run/mon.sock" "$run/qemu.pid"
    fw=()
    if [ "$firmware" = uefi ]; then
      base="$cache/esp-disk.img"
      code=/usr/share/OVMF/OVMF_CODE_4M.fd; vars=/usr/share/OVMF/OVMF_VARS_4M.fd
      [ -f "$code" ] || { code=/usr/share/OVMF/OVMF_CODE.fd; vars=/usr/share/OVMF/OVMF_VARS.fd; }
      cp "$vars" "$run/OVMF_VARS.fd"
      fw=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$code" -drive "if=pflash,format=raw,unit=1,file=$run/OVMF_VARS.fd")
    else
      base="$cache/disk.img"
    fi
    [ -f "$base" ] || { echo "guest: $base missing; run scripts/qemu/build-image.sh first" >&2; exit 1; }
    qemu-img create -q -f qcow2 -b "$base" -F raw "$run/disk.qcow2"
    qemu-system-x86_64 \
      -accel "${QEMU_E2E_ACCEL:-tcg,thread=multi}" -smp "${QEMU_E2E_SMP:-2}" -m "${QEMU_E2E_MEM:-2048}" \
      -cpu max,vendor=GenuineIntel \
      -machine q35,kernel-irqchip=split \
      "${fw[@]}" \
      -device intel-iommu,intremap=on,caching-mode=on \
      -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$port-:22" -device virtio-net-pci,netdev=n0,addr=0x2 \
      -netdev user,id=n1,restrict=on -device e1000e,netdev=n1,addr=0x3 "${extra[@]}" \
      -drive "file=$run/disk.qcow2,format=qcow2,if=none,id=d0,cache=unsafe" -device virtio-blk-pci,drive=d0,addr=0x4 \
      -display none -serial "file:$run/serial.log" \
      -monitor "unix:$run/mon.sock,server,nowait" -pidfile "$run/qemu.pid" -daemonize
    echo "guest: started pid $(cat "$run/qemu.pid"), ssh on 127.0.0.1:$port, serial log $run/serial.log"
    ;;
  wait-ssh)
    port="${3:?PORT missing}"
    limit="${4:-900}"
    start=$(date +%s)
    # shellcheck disable=SC2046
    # Each try bounded: QEMU's user-mode network accepts the TCP connection even while the guest is down
    # (rebooting), and an ssh waiting for a banner that never comes hung a wait for 15 min.
    until timeout 30 ssh $(ssh_opts "$port") root@127.0.0.1 true 2>/dev/null; do
      if [ -f "$run/qemu.pid" ] && ! kill -0 "$(cat "$run/qemu.pid")" 2>/dev/null; then
        echo "guest: QEMU exited; tail of $run/serial.log:" >&2; tail -n 20 "$run/serial.log" >&2 || true; exit 1
      fi
      if [ $(( $(date +%s) - start )) -ge "$limit" ]; then
        echo "guest: no SSH after ${limit}s; tail of $run/serial.log:" >&2; tail -n 20 "$run/serial.log" >&2 || true; exit 1
      fi
      sleep 2
    done
    echo "guest: SSH up after $(( $(date +%s) - start ))s"
    ;;
  ssh)
    port="${3:?PORT missing}"
    shift 3
    # shellcheck disable=SC2046
    exec ssh $(ssh_opts "$port") root@127.0.0.1 -- "$@"
    ;;
  stop)
    [ -f "$run/qemu.pid" ] || exit 0
    pid="$(cat "$run/qemu.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      # "quit" on the monitor; the overlay is throw-away, so no clean guest shutdown is needed.
      if command -v socat >/dev/null 2>&1; then
        echo quit | socat - "UNIX-CONNECT:$run/mon.sock" >/dev/null 2>&1 || true
      else
        kill "$pid" 2>/dev/null || true
      fi
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$run/qemu.pid"
    ;;
  *)
    echo "guest: unknown action $action" >&2; exit 2
    ;;
esac
