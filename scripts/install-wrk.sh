#!/bin/sh
# Install Debian's wrk (the HTTP load generator bench/api.py drives), if missing. Idempotent.
set -eu

if command -v wrk >/dev/null 2>&1; then
    echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-wrk: need root or sudo to install the wrk package" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists yet; install straight away when they are there.
if ! $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi
echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
