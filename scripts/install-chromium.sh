#!/bin/sh
# Install Debian's chromium (and a font) for the browser tests, if missing. Idempotent.
# The tests drive /usr/bin/chromium through Playwright; no browser is downloaded by Playwright.
set -eu

if [ -x /usr/bin/chromium ] && dpkg -s fonts-dejavu-core >/dev/null 2>&1; then
    echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
    exit 0
fi

"$(dirname "$0")/apt-install.sh" chromium fonts-dejavu-core
echo "chromium: $(/usr/bin/chromium --version 2>/dev/null | tail -n 1)"
