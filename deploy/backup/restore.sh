#!/usr/bin/env bash
# Restore a backup made by backup.sh: each service's schema is replaced (the old one kept
# aside until the restore has committed), and the DML's blob store swapped for the backup's.
# Stop the services first (on Kubernetes: scale the Deployments to 0 and suspend the CronJob
# ferry-audit-verify), start them after; then run `ferry audit verify`: a store behind its
# Kafka topic (a backup older than the newest events) is reported as `truncated`
# (docs/operations.md, Backups).
# Usage: deploy/backup/restore.sh SRC        (environment: see common.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

src="${1:?usage: restore.sh SRC}"
[[ -f "$src/MANIFEST" ]] || die "$src has no MANIFEST: not a backup of backup.sh"
# Every file there and intact before anything is touched.
for file in "${SERVICES[@]/%/.dump}" dml-media.tar; do
    grep -q " \(\./\)\?$file\$" "$src/MANIFEST" || die "$src/MANIFEST does not list $file"
done
(cd "$src" && grep -v '^#' MANIFEST | sha256sum --check --quiet) || die "$src does not match its MANIFEST"
pg_restore="$(pg_tool pg_restore)"
psql="$(pg_tool psql)"
sql() { "$psql" --quiet --no-psqlrc --set ON_ERROR_STOP=1 --command "$1" "$PG_URL" >/dev/null; }

for service in "${SERVICES[@]}"; do
    name="$(schema "$service")"
    aside="${name}_before_restore"
    say "restoring $service-svc's schema $name"
    # The schema as it was waits aside until the restore has committed, in one transaction.
    sql "DROP SCHEMA IF EXISTS \"$aside\" CASCADE" || die "could not clear $aside"
    sql "DO \$\$ BEGIN IF EXISTS (SELECT FROM pg_namespace WHERE nspname = '$name') THEN
             ALTER SCHEMA \"$name\" RENAME TO \"$aside\"; END IF; END \$\$" ||
        die "could not set schema $name aside"
    if ! "$pg_restore" --no-owner --no-privileges --single-transaction --exit-on-error \
        --dbname="$PG_URL" "$src/$service.dump"; then
        sql "DO \$\$ BEGIN IF EXISTS (SELECT FROM pg_namespace WHERE nspname = '$aside') THEN
                 ALTER SCHEMA \"$aside\" RENAME TO \"$name\"; END IF; END \$\$" || true
        die "pg_restore of $service failed; schema $name is as it was"
    fi
    sql "DROP SCHEMA IF EXISTS \"$aside\" CASCADE" || die "could not drop $aside"
done

say "restoring the DML's blobs into $FERRY_DML_MEDIA_DIR"
# Unpacked into a folder of our own first (the volume's root may not be ours to retime),
# then swapped in: the blob store is never half old, half new.
mkdir -p "$FERRY_DML_MEDIA_DIR"
staging="$FERRY_DML_MEDIA_DIR/.restoring"
rm -rf "$staging" && mkdir "$staging"
tar -C "$staging" --no-same-owner -xf "$src/dml-media.tar" || die "could not unpack the blobs"
find "$FERRY_DML_MEDIA_DIR" -mindepth 1 -maxdepth 1 ! -name .restoring -exec rm -rf {} +
find "$staging" -mindepth 1 -maxdepth 1 -exec mv -t "$FERRY_DML_MEDIA_DIR" {} +
rmdir "$staging"
say "restored from $src; run the migrate Jobs if the backup predates the running release, start the services, then run ferry audit verify"
