"""The case list: for browsing, for routing signals to open cases, and for the evaluator."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from els_svc.domain.case import ElsCase
from ferry.db import UnitOfWork

COLUMNS = (
    "case_id, release_id, environment, services, state, evaluable, started_at, planned_end, "
    "stream_version"
)


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".cases'


def state_of(case: ElsCase) -> str:
    if case.exited is not None:
        return "exited"
    return "normal" if case.normal_reached else "open"


async def save(uow: UnitOfWork, case: ElsCase) -> None:
    # Judged until the hand-over: breaches after normal, an extension without criteria.
    evaluable = case.exited is None
    await uow.execute(
        f"INSERT INTO {_table(uow)} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
        "ON CONFLICT (case_id) DO UPDATE SET state = $5, evaluable = $6, planned_end = $8, "
        "stream_version = $9",
        case.id,
        case.release_id,
        case.environment,
        case.services,
        state_of(case),
        evaluable,
        case.started_at,
        case.planned_end,
        case.version,
    )


async def open_for(uow: UnitOfWork, service: str, environment: str) -> list[UUID]:
    """The cases not exited whose release changes `service` in `environment`."""
    rows = await uow.fetch(
        f"SELECT case_id FROM {_table(uow)} WHERE environment = $1 AND $2 = ANY(services) "
        "AND state <> 'exited'",
        environment,
        service,
    )
    return [row["case_id"] for row in rows]


async def evaluable(uow: UnitOfWork) -> list[UUID]:
    rows = await uow.fetch(f"SELECT case_id FROM {_table(uow)} WHERE evaluable")
    return [row["case_id"] for row in rows]


async def page(
    uow: UnitOfWork,
    release_id: UUID | None,
    state: str | None,
    limit: int,
    owned: tuple[frozenset[str], frozenset[str]] | None = None,
) -> list[asyncpg.Record]:
    """The newest cases first; `owned`: only those in these environments or touching these
    services (a team's)."""
    conditions: list[str] = []
    args: list[object] = []
    if owned is not None:
        environments, services = owned
        args += [sorted(environments), sorted(services)]
        n = len(args)
        conditions.append(f"(environment = ANY(${n - 1}::text[]) OR services && ${n}::text[])")
    if release_id is not None:
        args.append(release_id)
        conditions.append(f"release_id = ${len(args)}")
    if state is not None:
        args.append(state)
        conditions.append(f"state = ${len(args)}")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args.append(limit)
    return list(
        await uow.fetch(
            f"SELECT {COLUMNS} FROM {_table(uow)} {where} ORDER BY started_at DESC "
            f"LIMIT ${len(args)}",
            *args,
        )
    )
