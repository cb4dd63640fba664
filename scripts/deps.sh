#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# deps.sh: install the Debian packages servesim needs, only those missing.
# Does nothing (and needs no network) when everything is present. Exit 2 when
# packages are missing and cannot be installed (not root, no sudo).
set -eu
PACKAGES="gcc make libc6-dev libcsv-dev libyaml-dev libgsl-dev libxxhash-dev libjansson-dev
          jq bats bats-assert bats-support time parallel gnuplot-nox"
missing=
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=; elif command -v sudo >/dev/null 2>&1; then sudo=sudo; else
    echo "deps: not root and no sudo; install these and rerun:$missing" >&2; exit 2
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >&2
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
