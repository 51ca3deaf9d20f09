"""What Ferry made live on each target last (kept as deployments switch targets), and the
changes found behind its back: what drift checks compare with, and what they found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from ferry.db import UnitOfWork
from ferry.events.deploy import UnauthorisedChangeDetected


@dataclass(frozen=True)
class Watched:
    environment: str
    target: str
    expected: str | None


def _t(uow: UnitOfWork, table: str) -> str:
    return f'"{uow.schema}".{table}'


async def switched(
    uow: UnitOfWork,
    environment: str,
    target: str,
    version: str | None,
    deployment_id: UUID,
    at: datetime,
) -> None:
    await uow.execute(
        f"INSERT INTO {_t(uow, 'live_targets')} "
        "(environment, target, version, deployment_id, changed_at) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (environment, target) DO UPDATE SET version = $3, deployment_id = $4, "
        "changed_at = $5",
        environment,
        target,
        version,
        deployment_id,
        at,
    )


async def watched(
    uow: UnitOfWork, busy_states: list[str], only: tuple[str, str] | None = None
) -> list[Watched]:
    """Every target Ferry has deployed to (or `only` that one: environment, target), with
    what it made live there last; not those an active deployment holds (what runs there is
    changing, by Ferry's hand)."""
    environment, target = only or (None, None)
    rows = await uow.fetch(
        f"""SELECT l.environment, l.target, l.version FROM {_t(uow, "live_targets")} l
            WHERE ($2::text IS NULL OR (l.environment = $2 AND l.target = $3))
              AND NOT EXISTS (
                SELECT FROM {_t(uow, "deployments")} d
                WHERE d.environment = l.environment AND l.target = ANY(d.targets)
                  AND d.state = ANY($1::text[]))
            ORDER BY l.environment, l.target""",
        busy_states,
        environment,
        target,
    )
    return [Watched(r["environment"], r["target"], r["version"]) for r in rows]


async def detected(uow: UnitOfWork, event: UnauthorisedChangeDetected, at: datetime) -> None:
    # A new finding on the same target replaces an open one: one open row per target.
    await cleared(uow, event.environment, event.target, at)
    await uow.execute(
        f"INSERT INTO {_t(uow, 'unauthorised_changes')} "
        "(environment, target, expected, found, detected_at) VALUES ($1, $2, $3, $4, $5)",
        event.environment,
        event.target,
        event.expected,
        event.found,
        at,
    )


async def cleared(uow: UnitOfWork, environment: str, target: str, at: datetime) -> None:
    await uow.execute(
        f"UPDATE {_t(uow, 'unauthorised_changes')} SET cleared_at = $3 "
        "WHERE environment = $1 AND target = $2 AND cleared_at IS NULL",
        environment,
        target,
        at,
    )


async def changes(
    uow: UnitOfWork,
    environment: str | None,
    open_only: bool,
    limit: int,
    before: datetime | None,
) -> list[asyncpg.Record]:
    """The changes found, newest first."""
    return list(
        await uow.fetch(
            f"SELECT environment, target, expected, found, detected_at, cleared_at "
            f"FROM {_t(uow, 'unauthorised_changes')} "
            "WHERE ($1::text IS NULL OR environment = $1) AND (NOT $2 OR cleared_at IS NULL) "
            "AND ($3::timestamptz IS NULL OR detected_at < $3) "
            "ORDER BY detected_at DESC, environment, target LIMIT $4",
            environment,
            open_only,
            before,
            limit,
        )
    )
