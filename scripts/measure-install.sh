#!/usr/bin/env bash
# How many packages a user install gets, without and with the simulator
# (README "Install size"). Packs both packages from this checkout exactly as
# they would be published (npm pack runs prepare/prepack, which build them),
# installs the tarballs with --omit=dev into empty folders from the registry,
# and counts the packages npm recorded in each folder's lock file, not counting
# pve-passthrough and @pve-passthrough/simulator themselves.
#   bash scripts/measure-install.sh        (needs the npm registry; ~2-3 min)
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cli=$(npm pack --silent --pack-destination "$work" | tail -n 1)
sim=$(npm pack --silent --pack-destination "$work" --workspace mocks | tail -n 1)

count() { # folder -> number of installed packages other than ours
  node -e '
    const lock = require(process.argv[1] + "/package-lock.json");
    const ours = new Set(["pve-passthrough", "@pve-passthrough/simulator"]);
    const names = Object.keys(lock.packages).filter((k) => k.startsWith("node_modules/"))
      .filter((k) => !ours.has(k.slice(k.lastIndexOf("node_modules/") + 13)));
    console.log(names.length);' "$1"
}

install() { # folder tarball...
  local dir="$work/$1"; shift
  mkdir "$dir"
  echo '{ "name": "measure", "version": "1.0.0", "private": true }' > "$dir/package.json"
  (cd "$dir" && npm install --omit=dev --no-audit --no-fund --loglevel=error "$@" >/dev/null)
  count "$dir"
}

without=$(install cli "$work/$cli")
with=$(install cli-and-simulator "$work/$cli" "$work/$sim")
echo "pve-passthrough alone:                   $without packages"
echo "pve-passthrough + its simulator package: $with packages"
