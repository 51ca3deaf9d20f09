"""The list of improvement actions: one row per action, kept with every change of its
release (whose stream holds the action), for following them up across releases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

import asyncpg

from ferry.db import UnitOfWork
from ferry.errors import NotFound
from ferry.events.release import ActionState
from release_svc.adapters import release_teams
from release_svc.adapters.queries import Order, Where, page
from release_svc.domain.actions import UNFINISHED
from release_svc.domain.release import Release

COLUMNS = "action_id, release_id, position, description, owner, due, state, note, stream_version"
NEVER = date.max
"""Where an action without a due date sorts: after every dated one."""
ORDER = Order(("sort_due", "action_id"), (date.fromisoformat, UUID))


@dataclass(frozen=True)
class Filters:
    """What a page of the list is restricted to; None means any."""

    owner: str | None = None
    state: ActionState | None = None
    overdue_on: date | None = None
    """Only the actions unfinished after their due date, as of this day."""
    release_id: UUID | None = None
    teams: frozenset[str] | None = None
    """Actions of releases touching one of these teams (`release_teams`)."""


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".improvement_actions'


async def save(uow: UnitOfWork, release: Release) -> None:
    """Store the release's actions as they now are (an action is never removed)."""
    for position, action in enumerate(release.actions.values()):
        await uow.execute(
            f"INSERT INTO {_table(uow)} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
            "ON CONFLICT (action_id) DO UPDATE SET owner = $5, due = $6, state = $7, note = $8, "
            "stream_version = $9",
            action.action_id,
            release.id,
            position,
            action.description,
            action.owner,
            action.due,
            str(action.state),
            action.note,
            release.version,
        )


def _select(uow: UnitOfWork) -> str:
    """Each action with its release's identifier and name, and what places it in teams."""
    return (
        "SELECT * FROM (SELECT a.action_id, a.release_id, a.description, a.owner, a.due, "
        "a.state, a.note, a.stream_version, l.identifier, l.name, l.team, l.services, "
        f"coalesce(a.due, DATE '{NEVER}') AS sort_due FROM {_table(uow)} a "
        f'JOIN "{uow.schema}".release_list l USING (release_id)) x'
    )


async def action_page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[asyncpg.Record], str | None]:
    """Up to `limit` actions, soonest due first (undated last), after `cursor`; and the
    next page's cursor."""
    where = Where()
    where.when(filters.owner, "owner = {}")
    where.when(filters.state and str(filters.state), "state = {}")
    where.when(filters.release_id, "release_id = {}")
    if filters.overdue_on is not None:
        unfinished = where.arg(sorted(str(state) for state in UNFINISHED))
        where.add(f"state = ANY({unfinished}::text[]) AND due < {where.arg(filters.overdue_on)}")
    if filters.teams is not None:
        where.add(release_teams.touches(uow, "x", f"{where.arg(sorted(filters.teams))}::text[]"))
    return await page(uow, _select(uow), where, ORDER, limit, cursor)


async def action(uow: UnitOfWork, action_id: UUID) -> asyncpg.Record:
    """One action, as the list shows it."""
    found = await uow.fetchrow(f"{_select(uow)} WHERE action_id = $1", action_id)
    if found is None:
        raise NotFound(f"no improvement action {action_id}")
    return found


async def release_of(uow: UnitOfWork, action_id: UUID) -> UUID:
    """The release whose review raised the action."""
    found: UUID | None = await uow.fetchval(
        f"SELECT release_id FROM {_table(uow)} WHERE action_id = $1", action_id
    )
    if found is None:
        raise NotFound(f"no improvement action {action_id}")
    return found


async def overdue_not_notified(uow: UnitOfWork, today: date, limit: int) -> list[asyncpg.Record]:
    """Unfinished actions with an owner, due before `today`, whose owner has not yet been
    told of them at this due date: the cause of that notification is the action at its due
    date (`domain.notifications.overdue_cause`, computed alike here)."""
    return await uow.fetch(
        f"{_select(uow)} WHERE owner <> '' AND state = ANY($1::text[]) AND due < $2 "
        f'AND NOT EXISTS (SELECT 1 FROM "{uow.schema}".notifications n '
        "WHERE n.cause = md5(x.action_id::text || ':' || x.due::text)::uuid) "
        "ORDER BY due, action_id LIMIT $3",
        sorted(str(state) for state in UNFINISHED),
        today,
        limit,
    )
