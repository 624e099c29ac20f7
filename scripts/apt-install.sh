#!/bin/sh
# Install Debian packages as root, or through sudo: `scripts/apt-install.sh PACKAGE...`.
# The package lists are refreshed only when an install from the present lists fails (a fresh
# machine has none), so a second install on the same machine costs no download.
set -eu

[ "$#" -gt 0 ] || { echo "usage: scripts/apt-install.sh PACKAGE..." >&2; exit 2; }

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
else
    echo "apt-install: need root or sudo to install $*" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "apt-install: $*" >&2
if ! $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1; then
    $SUDO apt-get update -qq >&2
    $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
fi
