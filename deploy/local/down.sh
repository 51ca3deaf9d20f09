#!/usr/bin/env bash
# Stop the local stack started by up.sh (Kafka first, then PostgreSQL). Data is kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

rc=0
"$FERRY_LOCAL/kafka.sh" stop || rc=1
"$FERRY_LOCAL/postgres.sh" stop || rc=1
exit "$rc"
