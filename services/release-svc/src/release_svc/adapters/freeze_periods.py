"""Freeze periods as a table: the ones in force, for deciding on windows and flagging the
schedule, and a list to browse. Written in the unit of work that appends the freeze's events."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

import asyncpg

from ferry.db import UnitOfWork
from ferry.freezes import FreezePeriod
from release_svc.adapters.queries import Order, Scope, Where, instant, page
from release_svc.domain.freezes import Freeze

COLUMNS = (
    "freeze_id, starts_at, ends_at, reason, environments, services, lifted, lift_reason, "
    "stream_version"
)
ORDER = Order(("starts_at", "freeze_id"), (instant, UUID))


@dataclass(frozen=True)
class Filters:
    """What a page of freezes is restricted to. A freeze of every environment (or service)
    is in the scope of each."""

    scope: Scope = field(default_factory=Scope)
    include_lifted: bool = False


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".freeze_periods'


async def save(uow: UnitOfWork, freeze: Freeze) -> None:
    """Store the freeze as it now is."""
    period = freeze.period
    assert period is not None, "a freeze is saved once declared"
    await uow.execute(
        f"INSERT INTO {_table(uow)} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (freeze_id) DO UPDATE SET lifted = $7, lift_reason = $8, "
        "stream_version = $9",
        freeze.id,
        period.start,
        period.end,
        period.reason,
        sorted(period.environments),
        sorted(period.services),
        freeze.lifted,
        freeze.lift_reason,
        freeze.version,
    )


def _where(filters: Filters) -> Where:
    found = Where()
    if not filters.include_lifted:
        found.add("NOT lifted")
    found.during(filters.scope)
    # An empty list is a freeze of every environment, or every service.
    found.when(filters.scope.environment, "(environments = '{{}}' OR {} = ANY(environments))")
    found.when(filters.scope.service, "(services = '{{}}' OR {} = ANY(services))")
    return found


def _period(row: asyncpg.Record) -> FreezePeriod:
    return FreezePeriod(
        row["freeze_id"],
        row["starts_at"],
        row["ends_at"],
        row["reason"],
        frozenset(row["environments"]),
        frozenset(row["services"]),
    )


async def in_force(uow: UnitOfWork, scope: Scope | None = None) -> list[FreezePeriod]:
    """The freezes not lifted (and in `scope`), in the order they start."""
    query = _where(Filters(scope or Scope()))
    sql = f"SELECT {COLUMNS} FROM {_table(uow)}{query.sql()} ORDER BY starts_at, freeze_id"
    return [_period(row) for row in await uow.fetch(sql, *query.args)]


async def list_page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[Freeze], str | None]:
    """Up to `limit` freezes in the order they start, after `cursor`; the next cursor."""
    select = f"SELECT {COLUMNS} FROM {_table(uow)}"
    rows, next_cursor = await page(uow, select, _where(filters), ORDER, limit, cursor)
    return [_freeze(row) for row in rows], next_cursor


def _freeze(row: asyncpg.Record) -> Freeze:
    return Freeze(
        row["freeze_id"], row["stream_version"], _period(row), row["lifted"], row["lift_reason"]
    )
