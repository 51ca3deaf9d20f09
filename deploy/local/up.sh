#!/usr/bin/env bash
# Start the local stack (PostgreSQL + Kafka), create the Kafka topics, print the app's env.
# Usage: deploy/local/up.sh [--env]
#   --env  print only the two FERRY_* lines on stdout and keep progress in $FERRY_STATE_DIR/up.log
#          (shown on failure), e.g. in a Makefile: eval "$$(deploy/local/up.sh --env)"
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

env_only=0
case "${1:-}" in
    --env) env_only=1 ;;
    "") ;;
    *) die "usage: $0 [--env]" ;;
esac

up() {
    local start_time=$SECONDS failed=0 pg_job kafka_job
    "$FERRY_LOCAL/kafka.sh" fetch
    # Both servers take a few seconds to come up; start them side by side.
    "$FERRY_LOCAL/postgres.sh" start & pg_job=$!
    "$FERRY_LOCAL/kafka.sh" start & kafka_job=$!
    wait "$pg_job" || failed=1
    wait "$kafka_job" || failed=1
    ((failed == 0)) || die "local stack did not start (see messages above); stop it with deploy/local/down.sh"

    "$FERRY_PYTHON" "$FERRY_LOCAL/kafka_admin.py" create-topics --bootstrap "127.0.0.1:$FERRY_KAFKA_PORT" ||
        die "could not create Kafka topics"
    say up "local stack is up in $((SECONDS - start_time))s; stop it with deploy/local/down.sh"
}

if ((env_only)); then
    make_state_dir
    # A subshell, so that `die` inside returns here and the log can be shown.
    (up) 2>"$FERRY_STATE_DIR/up.log" || { cat "$FERRY_STATE_DIR/up.log" >&2; exit 1; }
else
    up
fi
echo "FERRY_DATABASE_URL=postgresql+asyncpg://ferry:ferry@127.0.0.1:$FERRY_PG_PORT/ferry"
echo "FERRY_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$FERRY_KAFKA_PORT"
