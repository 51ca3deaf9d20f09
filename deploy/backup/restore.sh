#!/usr/bin/env bash
# Restore a backup made by backup.sh: each service's schema is dropped and restored, and the
# DML's blob store emptied and refilled. Stop the services first (on Kubernetes: scale the
# Deployments to 0), start them after; then run `ferry audit verify`: a store behind its
# Kafka topic (a backup older than the newest events) is reported as `truncated`
# (docs/operations.md, Backups).
# Usage: deploy/backup/restore.sh SRC        (environment: see common.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

src="${1:?usage: restore.sh SRC}"
[[ -f "$src/MANIFEST" ]] || die "$src has no MANIFEST: not a backup of backup.sh"
(cd "$src" && grep -v '^#' MANIFEST | sha256sum --check --quiet) || die "$src does not match its MANIFEST"
pg_restore="$(pg_tool pg_restore)"
psql="$(pg_tool psql)"
for service in "${SERVICES[@]}"; do
    name="$(schema "$service")"
    say "restoring $service-svc's schema $name"
    "$psql" --quiet --set ON_ERROR_STOP=1 --command "DROP SCHEMA IF EXISTS \"$name\" CASCADE" "$PG_URL" >/dev/null ||
        die "could not drop schema $name"
    "$pg_restore" --no-owner --no-privileges --exit-on-error --dbname="$PG_URL" "$src/$service.dump" ||
        die "pg_restore of $service failed"
done
say "restoring the DML's blobs into $FERRY_DML_MEDIA_DIR"
mkdir -p "$FERRY_DML_MEDIA_DIR"
find "$FERRY_DML_MEDIA_DIR" -mindepth 1 -delete
tar -C "$FERRY_DML_MEDIA_DIR" -xf "$src/dml-media.tar" || die "could not unpack the blobs"
say "restored from $src; start the services, then run ferry audit verify"
