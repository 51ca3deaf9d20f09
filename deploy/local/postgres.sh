#!/usr/bin/env bash
# Private PostgreSQL cluster for local development, with role and database `ferry`.
# Usage: deploy/local/postgres.sh {start|stop|kill|status}   (env: see lib.sh)
#
# If some other PostgreSQL already answers on 127.0.0.1:$FERRY_PG_PORT, start uses it as is
# and stop leaves it alone: this script only ever stops the cluster it owns ($PGDATA).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Data dir: the server must run as `postgres` when we are root, and that user cannot reach
# a state dir under /root (mode 700). So as root the cluster lives in /var/tmp (reachable by
# everyone, and unlike /tmp not wiped on reboot), one per port; otherwise in the state dir.
if ((EUID == 0)); then
    : "${FERRY_PG_DATA:=/var/tmp/ferry-pg-$FERRY_PG_PORT}"
else
    : "${FERRY_PG_DATA:=$FERRY_STATE_DIR/postgres}"
fi
PGDATA="$FERRY_PG_DATA"
PG_LOG="$PGDATA/server.log" # inside PGDATA because it must be writable by postgres

log() { say postgres "$@"; }

find_bin() {
    # Debian keeps the server binaries off PATH: take the newest installed major version,
    # else follow pg_ctl on PATH (resolving symlinks, its siblings pg_isready/psql must match).
    PG_BIN="${FERRY_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)}"
    if [[ -z "$PG_BIN" ]] && command -v pg_ctl >/dev/null; then
        PG_BIN="$(dirname "$(readlink -f "$(command -v pg_ctl)")")"
    fi
    local b
    for b in initdb pg_ctl pg_isready psql; do
        [[ -n "$PG_BIN" && -x "$PG_BIN/$b" ]] ||
            die "PostgreSQL not found (no $b in '${PG_BIN:-/usr/lib/postgresql/*/bin}'): install postgresql-15 or set FERRY_PG_BIN"
    done
    if ((EUID == 0)); then
        id postgres >/dev/null 2>&1 || die "running as root needs the 'postgres' user (install postgresql-15)"
    fi
}

# True if the cluster in $PGDATA is running (postmaster.pid names a live process).
ours_running() {
    [[ -f "$PGDATA/postmaster.pid" ]] && run_as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1
}

# pg_isready exits 0 (accepting) or 1 (rejecting, e.g. starting up) when a server answers.
pg_answers() {
    local rc=0
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FERRY_PG_PORT" -t 2 || rc=$?
    ((rc == 0 || rc == 1))
}
pg_accepting() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$FERRY_PG_PORT" -t 2; }

psql_admin() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$FERRY_PG_PORT" -U postgres -d postgres "$@"
}

ensure_ferry_db() {
    # \gexec runs the generated statement only when the SELECT returns a row: idempotent,
    # and works for CREATE DATABASE, which cannot run inside a DO block.
    psql_admin >/dev/null <<'SQL' || die "could not create role/database ferry, see $PG_LOG"
SELECT 'CREATE ROLE ferry LOGIN SUPERUSER PASSWORD ''ferry'''
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ferry') \gexec
SELECT 'CREATE DATABASE ferry OWNER ferry'
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'ferry') \gexec
SQL
}

start() {
    find_bin
    if [[ "$FERRY_FRESH" == 1 ]]; then
        if ours_running; then
            log "FERRY_FRESH=1: stopping our cluster to wipe it"
            stop
        fi
        if [[ -d "$PGDATA" ]]; then
            log "FERRY_FRESH=1: wiping $PGDATA"
            rm -rf "${PGDATA:?}"
        fi
    fi

    if ours_running; then
        # Line 4 of postmaster.pid is the port the running server listens on.
        [[ "$(sed -n 4p "$PGDATA/postmaster.pid")" == "$FERRY_PG_PORT" ]] ||
            die "PostgreSQL from $PGDATA is already running on another port; stop it first: deploy/local/postgres.sh stop"
        log "already running on 127.0.0.1:$FERRY_PG_PORT (data: $PGDATA)"
        wait_for 30 pg_accepting || die "PostgreSQL is running but not accepting connections, see $PG_LOG"
        ensure_ferry_db
        return 0
    fi
    if pg_answers; then
        log "a PostgreSQL server not started by this script answers on 127.0.0.1:$FERRY_PG_PORT; using it as is"
        # It must accept the URL the services will use, or they would fail later and less clearly.
        PGPASSWORD=ferry "$PG_BIN/psql" -h 127.0.0.1 -p "$FERRY_PG_PORT" -U ferry -d ferry \
            -qAtc 'SELECT 1' >/dev/null 2>&1 ||
            die "the PostgreSQL on port $FERRY_PG_PORT does not accept ferry:ferry@127.0.0.1/ferry; create that role and database there, or set FERRY_PG_PORT to a free port for a private cluster"
        return 0
    fi
    port_in_use "$FERRY_PG_PORT" &&
        die "port $FERRY_PG_PORT is taken by another process (see: ss -ltnp 'sport = :$FERRY_PG_PORT'); choose another with FERRY_PG_PORT"

    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        log "initdb in $PGDATA"
        rm -rf "${PGDATA:?}" # a half-made dir from an interrupted initdb
        mkdir -p "$PGDATA"
        ((EUID == 0)) && chown postgres:postgres "$PGDATA"
        chmod 700 "$PGDATA"
        make_state_dir
        # The redirect is opened by us, not by postgres, so the state dir is fine for this log.
        run_as_pg "$PG_BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
            >"$FERRY_STATE_DIR/postgres-initdb.log" 2>&1 ||
            die "initdb failed, see $FERRY_STATE_DIR/postgres-initdb.log"
    fi

    log "starting on 127.0.0.1:$FERRY_PG_PORT (data: $PGDATA, log: $PG_LOG)"
    # Unix socket in PGDATA: private to this cluster, writable by postgres.
    run_as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA" -l "$PG_LOG" -w -t 60 -o \
        "-p $FERRY_PG_PORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" \
        >/dev/null || die "PostgreSQL did not start, see $PG_LOG"
    wait_for 30 pg_accepting || die "PostgreSQL did not accept connections in 30s, see $PG_LOG"
    ensure_ferry_db
    log "ready on 127.0.0.1:$FERRY_PG_PORT"
}

stop() {
    find_bin
    if ours_running; then
        log "stopping (data: $PGDATA)"
        run_as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 60 >/dev/null ||
            die "could not stop PostgreSQL, see $PG_LOG"
        log "stopped"
    elif pg_answers; then
        log "the server on 127.0.0.1:$FERRY_PG_PORT was not started by this script; leaving it alone"
    else
        log "not running"
    fi
}

# kill: an immediate shutdown, as a crash: clients are cut at once and the next start
# recovers from the write-ahead log. For tests of an outage.
kill_now() {
    find_bin
    ours_running || die "no PostgreSQL started by this script is running"
    log "killing (immediate shutdown; data: $PGDATA)"
    run_as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 60 >/dev/null ||
        die "could not kill PostgreSQL, see $PG_LOG"
}

status() {
    find_bin
    if ours_running && pg_accepting; then
        log "running on 127.0.0.1:$FERRY_PG_PORT (data: $PGDATA)"
    elif pg_accepting; then
        log "a server not started by this script answers on 127.0.0.1:$FERRY_PG_PORT"
    else
        log "not running"
        return 1
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    kill) kill_now ;;
    status) status ;;
    *) die "usage: $0 {start|stop|kill|status}" ;;
esac
