#!/bin/sh
# Install Debian's wrk (the HTTP load generator bench/api.py drives), if missing. Idempotent.
set -eu

command -v wrk >/dev/null 2>&1 || "$(dirname "$0")/apt-install.sh" wrk
echo "wrk: $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
