#!/usr/bin/env bash
# Back up Ferry: each service's schema (pg_dump, custom format) and the DML's blob store,
# into DEST, with a MANIFEST of SHA-256 sums. The services may keep running: each schema is
# dumped in one snapshot, the database before the blobs, so every medium a dump names is in
# the blob archive (media are never changed in place, only added).
# Usage: deploy/backup/backup.sh DEST        (environment: see common.sh)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

dest="${1:?usage: backup.sh DEST}"
[[ ! -e "$dest" ]] || die "$dest exists: back up into a new folder"
mkdir -p "$dest"
pg_dump="$(pg_tool pg_dump)"
for service in "${SERVICES[@]}"; do
    say "dumping $service-svc's schema $(schema "$service")"
    "$pg_dump" --format=custom --no-owner --no-privileges --schema="$(schema "$service")" \
        --file="$dest/$service.dump" "$PG_URL" || die "pg_dump of $service failed"
done
say "archiving the DML's blobs from $FERRY_DML_MEDIA_DIR"
# Not the uploads in flight (blobs/incoming): a blob is renamed into place once complete.
tar -C "$FERRY_DML_MEDIA_DIR" --exclude=./blobs/incoming -cf "$dest/dml-media.tar" . ||
    die "could not archive the blobs"
{
    echo "# Ferry backup of $(date -u +%Y-%m-%dT%H:%M:%SZ); schemas:$(for s in "${SERVICES[@]}"; do printf ' %s=%s' "$s" "$(schema "$s")"; done)"
    (cd "$dest" && sha256sum ./*.dump dml-media.tar)
} >"$dest/MANIFEST"
say "backed up into $dest"
