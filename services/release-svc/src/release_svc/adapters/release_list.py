"""The release list: one row per release, kept with every change, for browsing and filters.

Written in the same unit of work as the release's events, so it is never behind them; and
rebuildable from those events (`rebuild`) should it ever be lost or change shape.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg

from ferry.db import UnitOfWork
from ferry.errors import BadRequest
from release_svc.adapters import release_teams
from release_svc.domain.delivery import Measured
from release_svc.domain.release import Release

COLUMNS = (
    "release_id, identifier, release_type, name, version, status, planned_start, planned_end, "
    "release_manager, stream_version, team, services"
)


@dataclass(frozen=True)
class Filters:
    """What a page of the list is restricted to; None means any."""

    status: str | None = None
    release_type: str | None = None
    release_manager: str | None = None
    planned_from: date | None = None
    """Releases still planned on or after this day (their end is not before it)."""
    planned_to: date | None = None
    """Releases starting on or before this day."""
    name: str | None = None
    """A part of the name, any case."""
    teams: frozenset[str] | None = None
    """Releases touching one of these teams (`release_teams`)."""


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".release_list'


async def save(uow: UnitOfWork, release: Release) -> None:
    """Store the release as it now is."""
    await uow.execute(
        f"INSERT INTO {_table(uow)} ({COLUMNS}, risk) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) "
        "ON CONFLICT (release_id) DO UPDATE SET identifier = $2, release_type = $3, name = $4, "
        "version = $5, status = $6, planned_start = $7, planned_end = $8, release_manager = $9, "
        "stream_version = $10, team = $11, services = $12, risk = $13",
        release.id,
        release.identifier,
        str(release.release_type),
        release.name,
        release.release_version,
        str(release.status),
        release.planned_start,
        release.planned_end,
        release.release_manager,
        release.version,
        release.team,
        sorted(release.services),
        str(release.risk.level) if release.risk else None,
    )


def encode_cursor(row: asyncpg.Record) -> str:
    return base64.urlsafe_b64encode(f"{row['planned_start']}|{row['release_id']}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[date, UUID]:
    try:
        start, release_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return date.fromisoformat(start), UUID(release_id)
    except ValueError as exc:
        raise BadRequest("cursor: not a cursor this API gave out") from exc


async def page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[str], str | None]:
    """Up to `limit` releases in planned order after `cursor`, each as the JSON object of a
    `ReleaseSummary`, and the next page's cursor. PostgreSQL writes the JSON: a page costs
    the service no model per row (a third of a list request's time when it built them)."""
    where: list[str] = []
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    if filters.status is not None:
        where.append(f"status = {arg(filters.status)}")
    if filters.release_type is not None:
        where.append(f"release_type = {arg(filters.release_type)}")
    if filters.release_manager is not None:
        where.append(f"release_manager = {arg(filters.release_manager)}")
    if filters.planned_from is not None:
        where.append(f"planned_end >= {arg(filters.planned_from)}")
    if filters.planned_to is not None:
        where.append(f"planned_start <= {arg(filters.planned_to)}")
    if filters.name is not None:
        escaped = filters.name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(f"name ILIKE {arg(f'%{escaped}%')}")
    if filters.teams is not None:
        where.append(release_teams.touches(uow, "l", f"{arg(sorted(filters.teams))}::text[]"))
    if cursor is not None:
        start, release_id = _decode_cursor(cursor)
        where.append(f"(planned_start, release_id) > ({arg(start)}, {arg(release_id)})")
    listed = f"SELECT {COLUMNS}, {release_teams.teams_of(uow, 'l')} AS teams FROM {_table(uow)} l"
    if where:
        listed += " WHERE " + " AND ".join(where)
    # One row more than asked tells whether there is a next page.
    listed += f" ORDER BY planned_start, release_id LIMIT {arg(limit + 1)}"
    rows = await uow.fetch(
        f"SELECT planned_start, release_id, row_to_json(r)::text AS item FROM ({listed}) r "
        "ORDER BY planned_start, release_id",
        *args,
    )
    items = [row["item"] for row in rows[:limit]]
    return items, encode_cursor(rows[limit - 1]) if len(rows) > limit else None


async def touching(uow: UnitOfWork, teams: frozenset[str]) -> set[UUID]:
    """The ids of every release touching one of `teams`."""
    condition = release_teams.touches(uow, "l", "$1::text[]")
    rows = await uow.fetch(
        f"SELECT release_id FROM {_table(uow)} l WHERE {condition}", sorted(teams)
    )
    return {row["release_id"] for row in rows}


async def release_id_of(uow: UnitOfWork, identifier: str) -> UUID | None:
    """The id of the release with this human-readable identifier, if there is one."""
    found: UUID | None = await uow.fetchval(
        f"SELECT release_id FROM {_table(uow)} WHERE identifier = $1", identifier
    )
    return found


async def measured(uow: UnitOfWork, release_ids: Sequence[UUID]) -> dict[UUID, Measured]:
    """What the delivery metrics need of each release, with its improvement actions'
    states."""
    rows = await uow.fetch(
        f"""SELECT l.release_id, l.release_type, l.team, l.risk, l.planned_end, l.status,
                COALESCE(array_agg(a.state) FILTER (WHERE a.state IS NOT NULL), '{{}}')
                    AS actions,
                count(*) FILTER (WHERE a.state IN ('open', 'in_progress') AND a.due < $2)
                    AS overdue
            FROM {_table(uow)} l
            LEFT JOIN "{uow.schema}".improvement_actions a USING (release_id)
            WHERE l.release_id = ANY($1::uuid[]) GROUP BY l.release_id""",
        list(release_ids),
        date.today(),
    )
    return {
        row["release_id"]: Measured(
            release_type=row["release_type"],
            team=row["team"],
            risk=row["risk"],
            planned_end=row["planned_end"],
            status=row["status"],
            actions=tuple(row["actions"]),
            overdue_actions=row["overdue"],
        )
        for row in rows
    }
