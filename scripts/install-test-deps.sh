#!/usr/bin/env bash
# Debian packages that `npm test` uses as oracles when present: kmod (modprobe,
# depmod) answers what the real module loader would do with the files the tool
# renders. Without it those tests say so and skip; CI installs it here.
set -euo pipefail
if command -v modprobe >/dev/null 2>&1 && command -v depmod >/dev/null 2>&1; then
  echo "install-test-deps: kmod present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: kmod missing and not root; install it: apt-get install kmod" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends kmod
