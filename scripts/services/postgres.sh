#!/usr/bin/env bash
# A private PostgreSQL server for the tests and benchmarks of the scale-out deployment.
#
#   scripts/services/postgres.sh up      install (Debian packages, pgvector) if missing, init, start; idempotent
#   scripts/services/postgres.sh down    stop it
#   scripts/services/postgres.sh status  exit 0 if it answers
#   scripts/services/postgres.sh dsn     print its connection string
#
# It listens on 127.0.0.1:${EDUPULSE_PG_PORT:-15432} with trust auth for the role "edupulse"
# and keeps its files in ${EDUPULSE_SERVICES_DIR:-/var/tmp/edupulse-services}/postgres, never
# in the repository. As root, the server runs as the Debian "postgres" user.
set -euo pipefail

PORT=${EDUPULSE_PG_PORT:-15432}
ROOT=${EDUPULSE_SERVICES_DIR:-/var/tmp/edupulse-services}/postgres
DATA=$ROOT/data
SOCK=$ROOT/run
LOGFILE=$ROOT/server.log
DSN="postgresql://edupulse@127.0.0.1:$PORT/edupulse"

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z $dir ]]; then
        echo "postgres: installing the Debian packages" >&2
        local sudo=""
        [[ $(id -u) -eq 0 ]] || sudo="sudo"
        $sudo apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >&2
        dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    echo "$dir"
}

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

ready() {
    "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT" -d edupulse -U edupulse
}

up() {
    BIN=$(pg_bin)
    bash "$(dirname "${BASH_SOURCE[0]}")/pgvector.sh"  # the tutor's index extension (no restart needed)
    if ready; then return 0; fi
    mkdir -p "$ROOT"
    [[ $(id -u) -ne 0 ]] || chown postgres: "$ROOT"
    if [[ ! -s $DATA/PG_VERSION ]]; then
        as_owner "$BIN/initdb" -D "$DATA" -U edupulse --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$SOCK'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
CONF
    fi
    as_owner mkdir -p "$SOCK"
    # Port and socket on the command line win over the file written at init (the port moved
    # below the kernel's ephemeral range, 32768-60999, where a client retrying a stopped
    # server can connect to itself and take the port).
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t 60 -o "-p $PORT -k $SOCK" start >/dev/null
    if ! as_owner "$BIN/psql" -h 127.0.0.1 -p "$PORT" -U edupulse -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = 'edupulse'" | grep -q 1; then
        as_owner "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U edupulse edupulse
    fi
    ready
    echo "postgres: up at $DSN" >&2
}

down() {
    BIN=$(pg_bin)
    if [[ -s $DATA/postmaster.pid ]]; then
        as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
    fi
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) BIN=$(pg_bin); ready ;;
    dsn) echo "$DSN" ;;
    *) echo "usage: $0 up|down|status|dsn" >&2; exit 2 ;;
esac
