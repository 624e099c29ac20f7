#!/bin/sh
# Install Debian's chromium (and a font) for the browser tests, if missing. Idempotent.
# The tests drive /usr/bin/chromium through Playwright; no browser is downloaded by Playwright.
set -eu

if [ -x /usr/bin/chromium ] && dpkg -s fonts-dejavu-core >/dev/null 2>&1; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "install-chromium: need root or sudo to install the chromium package" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
