#!/usr/bin/env bash
# Start the local stack (PostgreSQL + Kafka, and with FERRY_KUBERNETES=1 a Kubernetes control
# plane), create the Kafka topics, users and ACLs, print the
# environment that reaches it.
# Usage: deploy/local/up.sh [--env]
#   --env  print only the FERRY_* lines on stdout and keep progress in $FERRY_STATE_DIR/up.log
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
    local start_time=$SECONDS failed=0 pg_job kafka_job kube_job=
    "$FERRY_LOCAL/kafka.sh" fetch
    # The servers take a few seconds to come up; start them side by side.
    "$FERRY_LOCAL/postgres.sh" start & pg_job=$!
    "$FERRY_LOCAL/kafka.sh" start & kafka_job=$!
    if ((FERRY_KUBERNETES)); then "$FERRY_LOCAL/kube.sh" start & kube_job=$!; fi
    wait "$pg_job" || failed=1
    wait "$kafka_job" || failed=1
    [[ -z "$kube_job" ]] || wait "$kube_job" || failed=1
    ((failed == 0)) || die "local stack did not start (see messages above); stop it with deploy/local/down.sh"

    kafka_admin create-topics --replication "$FERRY_KAFKA_REPLICAS" --min-insync "$FERRY_KAFKA_MIN_ISR" || die "could not create Kafka topics"
    kafka_admin access --users-dir "$FERRY_KAFKA_USERS" || die "could not set Kafka's users and ACLs"
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
# The administrator's identity (a super user) for tools and tests; each service is given its
# own (run.sh, tests/support/infra.py): FERRY_KAFKA_USERS_DIR holds every user's password.
cat <<ENV
FERRY_KAFKA_BOOTSTRAP_SERVERS=$(kafka_servers "$FERRY_KAFKA_PORT")
FERRY_KAFKA_SECURITY_PROTOCOL=SASL_SSL
FERRY_KAFKA_CA_FILE=$FERRY_KAFKA_TLS/ca.crt
FERRY_KAFKA_USERNAME=ferry-admin
FERRY_KAFKA_PASSWORD_FILE=$FERRY_KAFKA_USERS/ferry-admin.password
FERRY_KAFKA_USERS_DIR=$FERRY_KAFKA_USERS
ENV
# The control plane's administrator (FERRY_KUBERNETES=1): kubectl and the kubernetes driver
# read KUBECONFIG.
if ((FERRY_KUBERNETES)); then echo "KUBECONFIG=$FERRY_STATE_DIR/kube/kubeconfig"; fi
