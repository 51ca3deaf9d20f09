#!/usr/bin/env bash
# `make run`: Kafka, PostgreSQL and the four services on this machine, a demo release
# flowing through them, then everything keeps running until Ctrl-C stops it all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

declare -A PORTS=(
    [release]="${FERRY_RELEASE_PORT:-8001}" [dml]="${FERRY_DML_PORT:-8002}"
    [deploy]="${FERRY_DEPLOY_PORT:-8003}" [els]="${FERRY_ELS_PORT:-8004}"
)
SERVICES=(release dml deploy els)
for name in "${SERVICES[@]}"; do
    port_in_use "${PORTS[$name]}" &&
        die "port ${PORTS[$name]} (${name}-svc) is taken; free it or set FERRY_${name^^}_PORT"
done

pids=()
stop_all() {
    trap - EXIT
    say run "stopping the services"
    ((${#pids[@]})) && kill -TERM "${pids[@]}" 2>/dev/null || true
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    "$FERRY_LOCAL/down.sh" || true
    say run "stopped"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

stack_env=$("$FERRY_LOCAL/up.sh" --env)
while IFS= read -r line; do export "${line?}"; done <<<"$stack_env"

# The services trust the development issuer, whose keys the demo makes on first use.
export FERRY_AUTH_ISSUER=ferry-dev FERRY_AUTH_JWKS_FILE="$FERRY_STATE_DIR/auth/jwks.json"
# The DML's media (and, with no FERRY_DML_SIGNING_KEY_FILE, its development signing key).
export FERRY_DML_MEDIA_DIR="${FERRY_DML_MEDIA_DIR:-$FERRY_STATE_DIR/dml-media}"
"$FERRY_REPO/.venv/bin/ferry" token --sub demo --role viewer --state-dir "$FERRY_STATE_DIR" >/dev/null
# deploy-svc fetches media from dml-svc as itself (role `deployer`), reading this token file at
# every request; it lasts a day (write it again for a longer run; no restart needed).
(umask 077 && "$FERRY_REPO/.venv/bin/ferry" token --sub deploy-svc --role deployer --role tester --ttl 86400 \
    --state-dir "$FERRY_STATE_DIR" >"$FERRY_STATE_DIR/deploy-svc.token")
export FERRY_DEPLOY_DML_TOKEN_FILE="$FERRY_STATE_DIR/deploy-svc.token"
export FERRY_DEPLOY_DML_URL="http://127.0.0.1:${PORTS[dml]}"
export FERRY_DEPLOY_WORK_DIR="${FERRY_DEPLOY_WORK_DIR:-$FERRY_STATE_DIR/deploy-work}"
# The demo's communication falls due at once: look for it every few seconds.
export FERRY_COMMUNICATION_POLL_SECONDS="${FERRY_COMMUNICATION_POLL_SECONDS:-5}"
export FERRY_DEPLOY_PUBLIC_URL="${FERRY_DEPLOY_PUBLIC_URL:-http://127.0.0.1:${PORTS[deploy]}}"
# The operator's limits on targets (docs/deploy-svc.md): this machine's development stack
# enables the `local` driver, for folders under the state dir only (the demo's targets).
export FERRY_DEPLOY_DRIVERS="${FERRY_DEPLOY_DRIVERS:-[\"local\", \"webhook\", \"kubernetes\"]}"
FERRY_DEPLOY_LOCAL_ROOTS=${FERRY_DEPLOY_LOCAL_ROOTS:-$("$FERRY_PYTHON" -c \
    'import json, os, sys; print(json.dumps([os.path.abspath(sys.argv[1])]))' "$FERRY_STATE_DIR/targets")}
export FERRY_DEPLOY_LOCAL_ROOTS

# Each service signs its events with a key of its own (made on first use) and trusts the
# others' (docs/events.md, Signed decisions).
FERRY_EVENT_TRUSTED_KEYS=$("$FERRY_REPO/.venv/bin/ferry" event-keys --state-dir "$FERRY_STATE_DIR")
export FERRY_EVENT_TRUSTED_KEYS

logs="$FERRY_STATE_DIR/logs"
mkdir -p "$logs"
for name in "${SERVICES[@]}"; do
    # Each service reaches Kafka as its own user, allowed only what it needs (up.sh made them).
    env "FERRY_${name^^}_PORT=${PORTS[$name]}" \
        "FERRY_EVENT_SIGNING_KEY_FILE=$FERRY_STATE_DIR/event-keys/${name}-svc.pem" \
        "FERRY_KAFKA_USERNAME=ferry-${name}-svc" \
        "FERRY_KAFKA_PASSWORD_FILE=$FERRY_KAFKA_USERS_DIR/ferry-${name}-svc.password" \
        "$FERRY_PYTHON" -m "${name}_svc" >>"$logs/${name}-svc.log" 2>&1 &
    pids+=("$!")
done

# Where the `ferry` command line finds the services (docs/cli.md).
for name in "${SERVICES[@]}"; do export "FERRY_${name^^}_URL=http://127.0.0.1:${PORTS[$name]}"; done
"$FERRY_LOCAL/demo.sh" "$FERRY_STATE_DIR" || die "the demo failed; the services' logs are in $logs"

# The dashboard, with a day's token in the URL's fragment (which no server is sent): an
# auditor's, read-only like a viewer's, and allowed the whole history, so the demo's
# deployment shows although it ended before the page opened.
viewer=$("$FERRY_REPO/.venv/bin/ferry" token --sub dashboard --role viewer --role auditor \
    --ttl 86400 --state-dir "$FERRY_STATE_DIR")
dashboard="http://127.0.0.1:${PORTS[release]}/dashboard#token=$viewer"
if [[ -n ${DISPLAY:-}${WAYLAND_DISPLAY:-} ]] && command -v xdg-open >/dev/null; then
    xdg-open "$dashboard" >/dev/null 2>&1 || true
fi

cat >&2 <<MSG

Ferry is running. The dashboard (open it in a browser; it updates live):
  $dashboard

  release-svc  http://127.0.0.1:${PORTS[release]}/docs
  dml-svc      http://127.0.0.1:${PORTS[dml]}/docs
  deploy-svc   http://127.0.0.1:${PORTS[deploy]}/docs
  els-svc      http://127.0.0.1:${PORTS[els]}/docs
  PostgreSQL   $FERRY_DATABASE_URL
  Kafka        $FERRY_KAFKA_BOOTSTRAP_SERVERS (topics release.events, dml.events, ...)
  logs         $logs/
  the CLI      export FERRY_TOKEN=\$(.venv/bin/ferry token --sub you --role release-manager)
               .venv/bin/ferry release list     (docs/cli.md)
Press Ctrl-C to stop everything.
MSG
# Wait until Ctrl-C, or until a service dies (then say which, and stop the rest).
wait -n "${pids[@]}" || true
die "a service exited; see its log in $logs"
