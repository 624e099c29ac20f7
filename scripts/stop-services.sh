#!/usr/bin/env bash
# Stop the private PostgreSQL test cluster and Mosquitto broker started by scripts/test-services.sh.
# With --purge, also delete the cluster's data (including a /var/tmp fallback folder).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_HOME="$ROOT/.cache/pg"
CLUSTER="$PG_HOME/cluster"

purge=false
case "${1:-}" in
    --purge) purge=true ;;
    "") ;;
    *) echo "usage: $0 [--purge]" >&2; exit 2 ;;
esac

log() { printf 'stop-services: %s\n' "$*" >&2; }

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Mosquitto first: it saves its persistence file on a clean stop (SIGTERM).
MQ_HOME="$ROOT/.cache/mqtt"
if [ -s "$MQ_HOME/mosquitto.pid" ]; then
    mq_pid="$(cat "$MQ_HOME/mosquitto.pid")"
    if kill -0 "$mq_pid" 2>/dev/null && grep -q mosquitto "/proc/$mq_pid/comm" 2>/dev/null; then
        log "stopping Mosquitto (pid $mq_pid)"
        kill -TERM "$mq_pid"
        while kill -0 "$mq_pid" 2>/dev/null; do sleep 0.1; done
    fi
    rm -f "$MQ_HOME/mosquitto.pid"
fi
if $purge; then
    rm -rf "$MQ_HOME"
fi

if [ ! -e "$CLUSTER" ]; then
    log "no test cluster in .cache/pg"
    exit 0
fi

CLUSTER_REAL="$(readlink -f "$CLUSTER")"
DATA="$CLUSTER_REAL/data"
PG_CTL="$(ls -d /usr/lib/postgresql/*/bin/pg_ctl 2>/dev/null | sort -V | tail -n 1 || true)"

if [ -n "$PG_CTL" ] && [ -s "$DATA/PG_VERSION" ] \
    && as_pg "$PG_CTL" -D "$DATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL"
    as_pg "$PG_CTL" -D "$DATA" -m fast -w stop >&2
else
    log "PostgreSQL is not running"
fi

if $purge; then
    log "removing the test cluster"
    if [ -L "$CLUSTER" ]; then
        rm -rf "$CLUSTER_REAL"
    fi
    rm -rf "$PG_HOME"
fi
