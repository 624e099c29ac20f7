#!/usr/bin/env bash
# Provision the PostgreSQL server the test suite needs: install the Debian packages if no server
# binaries exist, then start (or reuse) a private cluster under .cache/pg/ listening on 127.0.0.1.
# Progress goes to stderr. The last line on stdout is the SQLAlchemy URL of the test database;
# the same URL is written to .cache/pg/url (mode 600).
#
# Environment: PLEDGEWATCH_TEST_PG_PORT (default 55432).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_HOME="$ROOT/.cache/pg"
PORT="${PLEDGEWATCH_TEST_PG_PORT:-55432}"
DB_NAME="pledgewatch_test"
DB_USER="pledgewatch"
READY_TIMEOUT_S=60

log() { printf 'test-services: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# PostgreSQL refuses to run as root: as root, run the server tools as the postgres system user.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

find_pg_bin() {
    local candidates
    candidates="$(ls -d /usr/lib/postgresql/*/bin/postgres 2>/dev/null | sort -V | tail -n 1 || true)"
    [ -n "$candidates" ] && dirname "$candidates"
}

install_postgres() {
    local sudo=()
    if ! is_root; then
        command -v sudo >/dev/null 2>&1 || die "PostgreSQL is not installed and we are not root (no sudo)"
        sudo=(sudo -n)
    fi
    log "installing PostgreSQL from the Debian packages"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
}

PG_BIN="$(find_pg_bin || true)"
if [ -z "$PG_BIN" ]; then
    install_postgres
    PG_BIN="$(find_pg_bin || true)"
    [ -n "$PG_BIN" ] || die "no /usr/lib/postgresql/*/bin/postgres after installing postgresql"
fi
if is_root; then
    id postgres >/dev/null 2>&1 || die "the postgres system user is missing (install the postgresql package)"
fi

mkdir -p "$PG_HOME"
if is_root; then
    # Root keeps its files private; postgres only needs to traverse into its cluster folder.
    chmod 711 "$PG_HOME"
else
    chmod 700 "$PG_HOME"
fi

# The cluster lives in .cache/pg/cluster. When the postgres user cannot reach the repository
# (a checkout under /root, say) or the socket path would be too long for a unix socket, the
# cluster goes to /var/tmp and .cache/pg/cluster is a symlink to it.
CLUSTER="$PG_HOME/cluster"
if [ ! -e "$CLUSTER" ]; then
    use_fallback=false
    if is_root && ! (cd / && runuser -u postgres -- test -x "$PG_HOME"); then
        use_fallback=true
    fi
    if [ "${#CLUSTER}" -gt 80 ]; then
        use_fallback=true
    fi
    if $use_fallback; then
        hash="$(printf '%s' "$ROOT" | sha256sum | cut -c1-12)"
        target="/var/tmp/pledgewatch-pg-$hash"
        mkdir -p "$target"
        ln -sfn "$target" "$CLUSTER"
        log "cluster folder is $target (linked from .cache/pg/cluster)"
    else
        mkdir -p "$CLUSTER"
    fi
fi
CLUSTER_REAL="$(readlink -f "$CLUSTER")"
DATA="$CLUSTER_REAL/data"
SOCKET_DIR="$CLUSTER_REAL/run"
LOG_FILE="$CLUSTER_REAL/postgres.log"
if is_root; then
    chown postgres: "$CLUSTER_REAL"
fi
chmod 700 "$CLUSTER_REAL"

if [ ! -s "$DATA/PG_VERSION" ]; then
    log "creating a test cluster in $DATA"
    rm -rf "$DATA"
    as_pg mkdir -p "$DATA" "$SOCKET_DIR"
    # Local socket: trust (the socket folder is private); TCP on loopback: password.
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --no-sync \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    as_pg tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# pledgewatch test cluster: disposable data, so durability is traded for speed.
listen_addresses = '127.0.0.1'
unix_socket_directories = '$SOCKET_DIR'
unix_socket_permissions = 0700
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
log_min_messages = warning
EOF
fi
as_pg mkdir -p "$SOCKET_DIR"

running_port() {
    # Line 4 of postmaster.pid is the port of a running server.
    if as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
        sed -n 4p "$DATA/postmaster.pid"
    fi
}

current="$(running_port || true)"
if [ -n "$current" ] && [ "$current" != "$PORT" ]; then
    log "cluster runs on port $current, restarting it on $PORT"
    as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w stop >&2
    current=""
fi

if [ -n "$current" ]; then
    log "reusing the running cluster on 127.0.0.1:$PORT"
else
    if "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; then
        die "another server already listens on 127.0.0.1:$PORT; set PLEDGEWATCH_TEST_PG_PORT"
    fi
    log "starting PostgreSQL on 127.0.0.1:$PORT"
    # pg_ctl -w reports a server that dies during start-up; pg_isready below gates on TCP.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOG_FILE" -o "-p $PORT" \
        -w -t "$READY_TIMEOUT_S" start >&2; then
        tail -n 20 "$LOG_FILE" >&2 || true
        die "PostgreSQL did not start (log: $LOG_FILE)"
    fi
fi

deadline=$((SECONDS + READY_TIMEOUT_S))
until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -t 2; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        tail -n 20 "$LOG_FILE" >&2 || true
        die "PostgreSQL not ready after ${READY_TIMEOUT_S}s (log: $LOG_FILE)"
    fi
    sleep 0.2
done

# One password per checkout, kept so that a reused cluster keeps working.
PASS_FILE="$PG_HOME/password"
if [ ! -s "$PASS_FILE" ]; then
    (umask 077 && od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$PASS_FILE")
fi
PASSWORD="$(cat "$PASS_FILE")"

as_pg "$PG_BIN/psql" -X -q -h "$SOCKET_DIR" -p "$PORT" -U postgres -d postgres \
    -v ON_ERROR_STOP=1 -v user="$DB_USER" -v pw="$PASSWORD" -v db="$DB_NAME" >&2 <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'user') \gexec
ALTER ROLE :"user" WITH LOGIN CREATEDB PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

URL="postgresql+psycopg://$DB_USER:$PASSWORD@127.0.0.1:$PORT/$DB_NAME"
(umask 077 && printf '%s\n' "$URL" >"$PG_HOME/url")
log "PostgreSQL ready: database $DB_NAME on 127.0.0.1:$PORT (URL also in .cache/pg/url)"
printf '%s\n' "$URL"
