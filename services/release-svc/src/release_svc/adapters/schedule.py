"""The deployment schedule: one row per release and environment, kept with every change of
the release, so the schedule, its conflicts and the calendar feed read one table.

Cancelled and closed releases keep their rows, showing their status: the schedule is also
a record of what was planned. They take no part in conflicts (`domain.schedule`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg

from ferry.db import UnitOfWork
from ferry.events.release import DeploymentWindow, Level
from release_svc.adapters import freeze_periods, release_teams
from release_svc.adapters.queries import Order, Scope, Where, instant, page
from release_svc.domain.lifecycle import Status
from release_svc.domain.release import Release
from release_svc.domain.schedule import (
    FINISHED,
    WITHDRAWN,
    Conflict,
    Entry,
    Scheduled,
    conflicts_of,
)

COLUMNS = (
    "release_id, environment, starts_at, ends_at, identifier, name, status, deployed, "
    "services, owners, depends_on, overridden_freezes, team, readiness_open, risk"
)
ORDER = Order(("starts_at", "release_id", "environment"), (instant, UUID, str))


@dataclass(frozen=True)
class Filters:
    """What a page of the schedule is restricted to; None means any."""

    scope: Scope = field(default_factory=Scope)
    owner: str | None = None
    """A release manager or owner of the release."""
    status: Status | None = None
    team: str | None = None
    """A team the release touches (`release_teams`)."""


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".deployment_windows'


async def save(uow: UnitOfWork, release: Release) -> None:
    """Bring the release's rows up to its windows as they now are, in one statement."""
    windows = release.windows
    # Upsert the windows it has and delete those it no longer has: the two touch disjoint
    # rows, so the one snapshot a statement's parts share is safe.
    await uow.execute(
        f"WITH kept AS (INSERT INTO {_table(uow)} ({COLUMNS}) "
        "SELECT $1, w.environment, w.starts_at, w.ends_at, $6, $7, $8, w.deployed, $9, $10, "
        "$11, $12, $13, $14, $15 "
        "FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::bool[]) "
        "AS w(environment, starts_at, ends_at, deployed) "
        "ON CONFLICT (release_id, environment) DO UPDATE SET starts_at = EXCLUDED.starts_at, "
        "ends_at = EXCLUDED.ends_at, identifier = $6, name = $7, status = $8, "
        "deployed = EXCLUDED.deployed, services = $9, owners = $10, depends_on = $11, "
        "overridden_freezes = $12, team = $13, readiness_open = $14, risk = $15) "
        f"DELETE FROM {_table(uow)} WHERE release_id = $1 AND NOT environment = ANY($2::text[])",
        release.id,
        [w.environment for w in windows],
        [w.start for w in windows],
        [w.end for w in windows],
        [w.environment in release.deployed_to for w in windows],
        release.identifier,
        release.name,
        str(release.status),
        sorted(release.services),
        sorted({release.release_manager, *release.owners}),
        sorted(release.depends_on),
        sorted(release.overridden_freezes),
        release.team,
        [str(item) for item in release.readiness_open],
        str(release.risk.level) if release.risk else None,
    )


async def windows_of(
    uow: UnitOfWork, release_ids: Iterable[UUID]
) -> dict[str, list[DeploymentWindow]]:
    """Per release (by identifier), its windows; cancelled releases have none that count."""
    rows = await uow.fetch(
        f"SELECT identifier, environment, starts_at, ends_at FROM {_table(uow)} "
        "WHERE release_id = ANY($1::uuid[]) AND NOT status = ANY($2::text[]) "
        "ORDER BY identifier, starts_at",
        list(release_ids),
        sorted(WITHDRAWN),
    )
    found: dict[str, list[DeploymentWindow]] = {}
    for row in rows:
        found.setdefault(row["identifier"], []).append(_window(row))
    return found


def _where(uow: UnitOfWork, filters: Filters) -> Where:
    found = Where()
    found.during(filters.scope)
    found.when(filters.scope.environment, "environment = {}")
    # `@>` rather than `= ANY`: it is what the GIN indexes on the arrays serve.
    found.when(filters.scope.service, "services @> ARRAY[{}::text]")
    found.when(filters.owner, "owners @> ARRAY[{}::text]")
    found.when(filters.status and str(filters.status), "status = {}")
    if filters.team is not None:
        found.add(release_teams.touches(uow, "w", f"ARRAY[{found.arg(filters.team)}::text]"))
    return found


async def schedule_page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[Scheduled], str | None]:
    """Up to `limit` windows in the order they open, after `cursor`, each with its
    conflicts; and the next page's cursor."""
    teams = release_teams.teams_of(uow, "w")
    select = f"SELECT {COLUMNS}, {teams} AS teams FROM {_table(uow)} w"
    rows, next_cursor = await page(uow, select, _where(uow, filters), ORDER, limit, cursor)
    entries = [_entry(row) for row in rows]
    found = await _conflicts(uow, entries)
    shown = [
        Scheduled(
            entry,
            row["name"],
            tuple(row["owners"]),
            tuple(found[entry.key]),
            tuple(row["teams"]),
            tuple(row["readiness_open"]),
            Level(row["risk"]) if row["risk"] else None,
        )
        for entry, row in zip(entries, rows, strict=True)
    ]
    return shown, next_cursor


async def _conflicts(
    uow: UnitOfWork, entries: Sequence[Entry]
) -> dict[tuple[UUID, str], list[Conflict]]:
    """Each entry's conflicts, judged against every window and freeze that could clash."""
    if not entries:
        return {}
    others = await _neighbours(uow, entries)
    during = Scope(
        ends_after=min(e.window.start for e in entries),
        starts_before=max(e.window.end for e in entries),
    )
    freezes = await freeze_periods.in_force(uow, during)
    pool = list({e.key: e for e in [*entries, *others]}.values())
    return {entry.key: conflicts_of(entry, pool, freezes) for entry in entries}


async def _neighbours(uow: UnitOfWork, entries: Sequence[Entry]) -> list[Entry]:
    """The windows that share an environment with one of `entries` and either overlap it
    with a service in common, or belong to a release it depends on or that depends on it."""
    rows = await uow.fetch(
        f"SELECT {COLUMNS} FROM {_table(uow)} o WHERE EXISTS (SELECT 1 FROM {_table(uow)} p "
        "WHERE (p.release_id, p.environment) IN (SELECT * FROM unnest($1::uuid[], $2::text[])) "
        "AND p.environment = o.environment AND p.release_id <> o.release_id "
        "AND ((p.starts_at < o.ends_at AND o.starts_at < p.ends_at AND p.services && o.services) "
        "OR o.release_id = ANY(p.depends_on) OR p.release_id = ANY(o.depends_on)))",
        [e.release_id for e in entries],
        [e.window.environment for e in entries],
    )
    return [_entry(row) for row in rows]


def _window(row: asyncpg.Record) -> DeploymentWindow:
    return DeploymentWindow(
        environment=row["environment"], start=row["starts_at"], end=row["ends_at"]
    )


def _entry(row: asyncpg.Record) -> Entry:
    return Entry(
        release_id=row["release_id"],
        identifier=row["identifier"],
        window=_window(row),
        status=Status(row["status"]),
        services=frozenset(row["services"]),
        depends_on=frozenset(row["depends_on"]),
        overridden_freezes=frozenset(row["overridden_freezes"]),
        deployed=row["deployed"],
    )


async def closing(uow: UnitOfWork, now: datetime, within: timedelta) -> list[asyncpg.Record]:
    """Windows open at `now` and closing within `within`, of releases not deployed there
    yet and still going (neither cancelled nor closed)."""
    return await uow.fetch(
        f"SELECT release_id, environment, ends_at FROM {_table(uow)} "
        "WHERE starts_at <= $1 AND ends_at > $1 AND ends_at <= $1 + $2::interval "
        "AND NOT deployed AND NOT status = ANY($3::text[]) ORDER BY ends_at",
        now,
        within,
        sorted(str(status) for status in FINISHED),
    )
