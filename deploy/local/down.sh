#!/usr/bin/env bash
# Stop the local stack started by up.sh (the control plane, Kafka, then PostgreSQL). Data is kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rc=0
# The control plane only if it runs (FERRY_KUBERNETES=1 started it): stopping is a no-op otherwise.
"$FERRY_LOCAL/kube.sh" stop >/dev/null 2>&1 || rc=1
"$FERRY_LOCAL/kafka.sh" stop || rc=1
"$FERRY_LOCAL/postgres.sh" stop || rc=1
exit "$rc"
