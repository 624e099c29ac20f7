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
    log "installing PostgreSQL from the Debian packages"
    "$ROOT/scripts/apt-install.sh" postgresql
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

# --- Mosquitto for the MQTT ingest tests -------------------------------------------------------
# A private broker under .cache/mqtt/ on 127.0.0.1, with reader accounts and ACLs generated by
# `pledgewatch readers acl` from .cache/mqtt/readers.csv (random passwords, made once), and
# persistence on so QoS 1 sessions survive a broker restart. Its URL (worker account included) is
# written to .cache/mqtt/url. Environment: PLEDGEWATCH_TEST_MQTT_PORT (default 51883).
MQ_HOME="$ROOT/.cache/mqtt"
MQ_PORT="${PLEDGEWATCH_TEST_MQTT_PORT:-51883}"
MQ_PID_FILE="$MQ_HOME/mosquitto.pid"
MQ_LOG="$MQ_HOME/mosquitto.log"
MQ_USER="ingest"

if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ] \
    || ! command -v mosquitto_pub >/dev/null 2>&1; then
    log "installing Mosquitto from the Debian packages"
    "$ROOT/scripts/apt-install.sh" mosquitto mosquitto-clients
fi
MQ_BIN="$(command -v mosquitto || echo /usr/sbin/mosquitto)"

mkdir -p "$MQ_HOME/data"
chmod 700 "$MQ_HOME"
random_secret() { od -An -tx1 -N12 /dev/urandom | tr -d ' \n'; }
if [ ! -s "$MQ_HOME/readers.csv" ]; then
    (
        umask 077
        echo "warehouse_code,reader_id,password"
        for r in r01 r02 r03 r04 r05 r06 r07 r08; do echo "WHT,$r,$(random_secret)"; done
        echo "WHU,u01,$(random_secret)"
    ) >"$MQ_HOME/readers.csv"
fi
if [ ! -s "$MQ_HOME/worker-password" ]; then
    (umask 077 && random_secret >"$MQ_HOME/worker-password")
fi
MQ_PASSWORD="$(cat "$MQ_HOME/worker-password")"

if [ ! -s "$MQ_HOME/acl" ] || [ "$MQ_HOME/readers.csv" -nt "$MQ_HOME/acl" ]; then
    if [ -x "$ROOT/.venv/bin/pledgewatch" ]; then
        mq_cli=("$ROOT/.venv/bin/pledgewatch")
    elif command -v uv >/dev/null 2>&1; then
        mq_cli=(uv run --frozen --project "$ROOT" pledgewatch)
    else
        die "cannot run pledgewatch to generate the broker ACLs: run \`make env\` first"
    fi
    log "generating Mosquitto passwords and ACLs"
    PLEDGEWATCH_INGEST_PASSWORD="$MQ_PASSWORD" "${mq_cli[@]}" readers acl \
        --spec "$MQ_HOME/readers.csv" --out "$MQ_HOME" --worker-user "$MQ_USER" >&2
fi

cat >"$MQ_HOME/mosquitto.conf" <<CONF
# pledgewatch test broker (generated by scripts/test-services.sh)
user $(id -un)
pid_file $MQ_PID_FILE
persistence true
persistence_location $MQ_HOME/data/
log_dest file $MQ_LOG
log_type error
log_type warning
max_queued_messages 100000
max_inflight_messages 100
listener $MQ_PORT 127.0.0.1
allow_anonymous false
password_file $MQ_HOME/passwords
acl_file $MQ_HOME/acl
CONF

mq_probe() {
    mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -u "$MQ_USER" -P "$MQ_PASSWORD" \
        -i "pledgewatch-probe-$$" -t pledgewatch/probe -n -q 0 >/dev/null 2>&1
}
mq_running_pid() {
    local pid
    [ -s "$MQ_PID_FILE" ] || return 1
    pid="$(cat "$MQ_PID_FILE")"
    kill -0 "$pid" 2>/dev/null && grep -q mosquitto "/proc/$pid/comm" 2>/dev/null && echo "$pid"
}

if mq_pid="$(mq_running_pid)"; then
    log "reusing the running Mosquitto (pid $mq_pid); reloading its passwords and ACLs"
    kill -HUP "$mq_pid"
else
    if mosquitto_pub -h 127.0.0.1 -p "$MQ_PORT" -t probe -n >/dev/null 2>&1 \
        || (exec 3<>"/dev/tcp/127.0.0.1/$MQ_PORT") 2>/dev/null; then
        die "another server already listens on 127.0.0.1:$MQ_PORT; set PLEDGEWATCH_TEST_MQTT_PORT"
    fi
    log "starting Mosquitto on 127.0.0.1:$MQ_PORT"
    rm -f "$MQ_PID_FILE"
    "$MQ_BIN" -c "$MQ_HOME/mosquitto.conf" -d
fi
mq_deadline=$((SECONDS + READY_TIMEOUT_S))
until mq_probe; do
    if [ "$SECONDS" -ge "$mq_deadline" ]; then
        tail -n 20 "$MQ_LOG" >&2 || true
        die "Mosquitto not ready after ${READY_TIMEOUT_S}s (log: $MQ_LOG)"
    fi
    sleep 0.1
done
(umask 077 && printf 'mqtt://%s:%s@127.0.0.1:%s\n' "$MQ_USER" "$MQ_PASSWORD" "$MQ_PORT" >"$MQ_HOME/url")
log "Mosquitto ready on 127.0.0.1:$MQ_PORT (URL in .cache/mqtt/url, readers in .cache/mqtt/readers.csv)"
# --- end of Mosquitto ----------------------------------------------------------------------------

URL="postgresql+psycopg://$DB_USER:$PASSWORD@127.0.0.1:$PORT/$DB_NAME"
(umask 077 && printf '%s\n' "$URL" >"$PG_HOME/url")
log "PostgreSQL ready: database $DB_NAME on 127.0.0.1:$PORT (URL also in .cache/pg/url)"
printf '%s\n' "$URL"
