# shellcheck shell=bash
# What backup.sh and restore.sh share. Source it.
#
# Environment:
#   FERRY_DATABASE_URL        the services' database (postgresql+asyncpg://… or postgresql://…)
#   FERRY_<SERVICE>_DB_SCHEMA each service's schema (default: its name: release, dml, deploy, els)
#   FERRY_DML_MEDIA_DIR       the DML's blob store (a folder; on Kubernetes, the mounted claim)
#   FERRY_PG_BIN              where pg_dump and pg_restore are (default: PATH, else the newest
#                             /usr/lib/postgresql/*/bin); at least the server's major version
set -euo pipefail

SERVICES=(release dml deploy els)
die() { printf '[ferry backup] ERROR: %s\n' "$*" >&2; exit 1; }
say() { printf '[ferry backup] %s\n' "$*" >&2; }

: "${FERRY_DATABASE_URL:?FERRY_DATABASE_URL must name the services database}"
: "${FERRY_DML_MEDIA_DIR:?FERRY_DML_MEDIA_DIR must name the DML blob store}"
# libpq reads the URL without SQLAlchemy's driver name, and its password from a password
# file of this run's own: on a command line any user of the machine reads it in `ps`.
PG_URL="${FERRY_DATABASE_URL/postgresql+asyncpg:/postgresql:}"
if [[ "$PG_URL" =~ ^(postgres(ql)?://)([^:@/]*):([^@]*)@(.*)$ ]]; then
    PG_URL="${BASH_REMATCH[1]}${BASH_REMATCH[3]}@${BASH_REMATCH[5]}"
    password="${BASH_REMATCH[4]//\\/\\\\}"   # its backslashes kept through printf,
    password="$(printf '%b' "${password//%/\\x}")"  # its %XX decoded,
    password="${password//\\/\\\\}"             # and escaped as .pgpass wants
    PGPASSFILE="$(mktemp)"  # mode 0600
    export PGPASSFILE
    trap 'rm -f "$PGPASSFILE"' EXIT
    printf '*:*:*:*:%s\n' "${password//:/\\:}" >"$PGPASSFILE"
    unset password
fi

pg_tool() {
    local name="$1" bin="${FERRY_PG_BIN:-}"
    if [[ -z "$bin" ]]; then
        if command -v "$name" >/dev/null; then command -v "$name"; return; fi
        bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
    fi
    [[ -x "$bin/$name" ]] || die "$name not found: install the PostgreSQL client or set FERRY_PG_BIN"
    echo "$bin/$name"
}

# schema SERVICE: the service's schema, as the service itself reads it.
schema() {
    local var="FERRY_${1^^}_DB_SCHEMA"
    echo "${!var:-$1}"
}
