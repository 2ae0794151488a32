#!/usr/bin/env bash
# make headlamp-plugin: builds the Headlamp plugin (plugins/headlamp) and packs the tarball that
# Headlamp installs, _output/headlamp-plugin/backupview-headlamp-<version>.tar.gz, holding
# backupview-headlamp/main.js and backupview-headlamp/package.json (the layout of
# `headlamp-plugin package`). The tarball is packed reproducibly (sorted, fixed mtime and owner,
# gzip -n), so its sha256 is a function of the sources and the lockfile, and
# plugins/headlamp/artifacthub-pkg.yml can carry it: this script fails when the two disagree;
# UPDATE_CHECKSUM=1 rewrites the file's version and checksum.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT/plugins/headlamp"

# npm ci when node_modules is missing or older than the lockfile.
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
npx headlamp-plugin build >/dev/null

name=$(node -p 'require("./package.json").name')
version=$(node -p 'require("./package.json").version')
out="$ROOT/_output/headlamp-plugin"
stage="$out/stage/$name"
rm -rf "$out/stage" && mkdir -p "$stage"
cp dist/main.js package.json "$stage/"
tarball="$out/$name-$version.tar.gz"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$out/stage" -cf - "$name" | gzip -n -9 >"$tarball"
sum=$(sha256sum "$tarball" | cut -d' ' -f1)
echo "$tarball"
echo "sha256 $sum"

# The tree Headlamp would have after installing it (the e2e test serves this).
rm -rf "$ROOT/_output/headlamp-plugins/$name" && mkdir -p "$ROOT/_output/headlamp-plugins"
tar -C "$ROOT/_output/headlamp-plugins" -xzf "$tarball"

meta=artifacthub-pkg.yml
if [[ "${UPDATE_CHECKSUM:-}" == 1 ]]; then
  sed -i -E "s|^version: .*|version: $version|; s|(headlamp/plugin/archive-checksum: ).*|\1\"SHA256:$sum\"|; s|(/download/headlamp-plugin-v)[^/]*/[^\"]*|\1$version/$name-$version.tar.gz|" "$meta"
fi
grep -q "^version: $version\$" "$meta" || { echo "$meta: version is not $version (UPDATE_CHECKSUM=1 $0)"; exit 1; }
grep -q "archive-checksum: \"SHA256:$sum\"" "$meta" || {
  echo "$meta: archive-checksum is not SHA256:$sum, the tarball just built (UPDATE_CHECKSUM=1 $0, then commit)"
  exit 1
}
echo "$meta: version $version, checksum matches"
