#!/usr/bin/env bash
# Run a command against a fresh local stack, then stop the stack, keeping the command's
# exit status. Usage: with-stack.sh [VAR=value ...] -- command [args ...]
# The VARs (ports, state dir; see lib.sh) choose the stack; the command sees
# what up.sh --env prints (the database URL, Kafka and its administrator's credentials) and
# the VARs in its environment.
set -euo pipefail
while (($#)) && [[ $1 != -- ]]; do export "${1?}"; shift; done
[[ ${1:-} == -- ]] || { echo "usage: $0 [VAR=value ...] -- command" >&2; exit 2; }
shift
export FERRY_FRESH=1
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

trap '"$FERRY_LOCAL/down.sh" >/dev/null 2>&1 || true' EXIT
stack_env=$("$FERRY_LOCAL/up.sh" --env)
while IFS= read -r line; do export "${line?}"; done <<<"$stack_env"
say stack "$FERRY_DATABASE_URL, Kafka at $FERRY_KAFKA_BOOTSTRAP_SERVERS"
"$@"
