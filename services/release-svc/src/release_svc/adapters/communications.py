"""The communications schedule: each release's plan entries, when they fall due, and when
they were announced.

Written in the same unit of work as the release's events (`save`), so it is never behind
them; the communications job (`release_svc.jobs.communications`) finds what fell due in it.
Entries that leave the plan go, but those already announced stay, with nothing more to
announce, as the record of what was said when.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from ferry.db import UnitOfWork
from release_svc.domain.communications import Planned, schedule
from release_svc.domain.release import Release

PENDING = "due_at IS NOT NULL AND (announced_at IS NULL OR due_at > announced_at)"
"""Not announced since its due time was set (`domain.communications.is_due`); the predicate
of the index the due scan uses, so written the same way there."""


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".communications'


async def save(uow: UnitOfWork, release: Release) -> None:
    """Bring the release's schedule up to its communication plan as it now is."""
    planned = schedule(release)
    table = _table(uow)
    # One statement: the row sets it changes are disjoint, and every change of a release
    # runs it. A due time that did not move is left alone, announcement and all.
    await uow.execute(
        f"""WITH dropped AS (
                DELETE FROM {table} WHERE release_id = $1 AND announced_at IS NULL
                    AND entry_id <> ALL($2::text[])
            ), retired AS (
                UPDATE {table} SET due_at = NULL WHERE release_id = $1
                    AND announced_at IS NOT NULL AND due_at IS NOT NULL
                    AND entry_id <> ALL($2::text[])
            )
            INSERT INTO {table} AS c (release_id, entry_id, due_at)
            SELECT $1, entry_id, due_at FROM unnest($2::text[], $3::timestamptz[])
                AS p(entry_id, due_at)
            ON CONFLICT (release_id, entry_id) DO UPDATE SET due_at = EXCLUDED.due_at
                WHERE c.due_at IS DISTINCT FROM EXCLUDED.due_at""",
        release.id,
        list(planned),
        list(planned.values()),
    )


async def due_releases(uow: UnitOfWork, now: datetime, limit: int) -> list[UUID]:
    """Up to `limit` releases with entries due by `now`, the longest waiting first."""
    rows = await uow.fetch(
        f"SELECT release_id FROM {_table(uow)} WHERE due_at <= $1 AND {PENDING} "
        "GROUP BY release_id ORDER BY min(due_at), release_id LIMIT $2",
        now,
        limit,
    )
    return [row["release_id"] for row in rows]


async def due(uow: UnitOfWork, release_id: UUID, now: datetime) -> list[Planned]:
    """The release's entries due by `now`, locked until the unit of work ends.

    Entries another unit of work holds are skipped, not waited for: two replicas never
    announce one entry twice, nor stall on each other. A row announced meanwhile is
    re-checked under the lock and left out.
    """
    rows = await uow.fetch(
        f"SELECT entry_id, due_at, announced_at FROM {_table(uow)} "
        f"WHERE release_id = $1 AND due_at <= $2 AND {PENDING} "
        "ORDER BY due_at, entry_id FOR UPDATE SKIP LOCKED",
        release_id,
        now,
    )
    return [Planned(row["entry_id"], row["due_at"], row["announced_at"]) for row in rows]


async def mark_announced(
    uow: UnitOfWork, release_id: UUID, entry_ids: Sequence[str], now: datetime
) -> None:
    """Record that these entries were announced at `now`, for the due time they have."""
    await uow.execute(
        f"UPDATE {_table(uow)} SET announced_at = $3, announced_due_at = due_at "
        "WHERE release_id = $1 AND entry_id = ANY($2::text[])",
        release_id,
        list(entry_ids),
        now,
    )
