#!/usr/bin/env bash
# Debian packages that `npm test` uses as oracles when present: kmod (modprobe,
# depmod) answers what the real module loader would do with the files the tool
# renders; tmux is the real terminal the progress/prompt tests drive; zsh and
# fish load the completion scripts. Without them those tests say so and skip;
# CI installs them here.
set -euo pipefail
missing=()
command -v modprobe >/dev/null 2>&1 && command -v depmod >/dev/null 2>&1 || missing+=(kmod)
for tool in tmux zsh fish; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: kmod, tmux, zsh and fish present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-test-deps: missing ${missing[*]} and not root; install: apt-get install ${missing[*]}" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
