"""The webhook driver's requests and their results, in PostgreSQL: the driver waits on a row
that the callback route fills in, on whichever replica the callback reaches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from ferry.db import UnitOfWork


@dataclass(frozen=True)
class Result:
    """What external automation answered for one request."""

    outcome: str
    """`succeeded` or `failed`."""
    detail: str | None
    previous: str | None


class Recorded(StrEnum):
    """What became of a result handed to `record`."""

    NEW = "new"
    SAME = "same"
    """The result already recorded, again: nothing changes."""
    DIFFERENT = "different"
    """A result was recorded before and said something else; the first stays."""
    UNKNOWN = "unknown"
    """No request with this idempotency id awaits a result at this deployment and target."""


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".webhook_results'


async def expect(
    uow: UnitOfWork,
    deployment_id: UUID,
    target: str,
    action: str,
    idempotency_id: str,
    secret_name: str,
    now: datetime,
) -> Result | None:
    """Note that a request awaits its result; the success, if one came already."""
    await uow.begin()
    # A repeated step finds its row and keeps a success; a failure is forgotten, so that the
    # request is sent again, and the automation may try again.
    failed = "t.outcome = 'failed'"
    row = await uow.fetchrow(
        f"INSERT INTO {_table(uow)} AS t (deployment_id, target, action, idempotency_id, "
        "secret_name, requested_at) VALUES ($1, $2, $3, $4, $5, $6) "
        "ON CONFLICT (deployment_id, target, action) DO UPDATE SET secret_name = $5, "
        f"requested_at = $6, outcome = CASE WHEN {failed} THEN NULL ELSE t.outcome END, "
        f"detail = CASE WHEN {failed} THEN NULL ELSE t.detail END, "
        f"previous = CASE WHEN {failed} THEN NULL ELSE t.previous END "
        "RETURNING outcome, detail, previous",
        deployment_id,
        target,
        action,
        idempotency_id,
        secret_name,
        now,
    )
    assert row is not None
    return Result(**dict(row)) if row["outcome"] is not None else None


async def result(uow: UnitOfWork, idempotency_id: str) -> Result | None:
    row = await uow.fetchrow(
        f"SELECT outcome, detail, previous FROM {_table(uow)} "
        "WHERE idempotency_id = $1 AND outcome IS NOT NULL",
        idempotency_id,
    )
    return Result(**dict(row)) if row is not None else None


async def secret_name(uow: UnitOfWork, deployment_id: UUID, target: str) -> str | None:
    """The secret the latest request to this deployment's target was signed with, if any."""
    found: str | None = await uow.fetchval(
        f"SELECT secret_name FROM {_table(uow)} WHERE deployment_id = $1 AND target = $2 "
        "ORDER BY requested_at DESC LIMIT 1",
        deployment_id,
        target,
    )
    return found


async def record(
    uow: UnitOfWork,
    deployment_id: UUID,
    target: str,
    idempotency_id: str,
    answer: Result,
    now: datetime,
) -> Recorded:
    """Keep the first result for a request; later ones are compared with it."""
    await uow.begin()
    # `outcome IS NULL` in the same statement: of two racing callbacks, one wins.
    stored = await uow.fetchval(
        f"UPDATE {_table(uow)} SET outcome = $4, detail = $5, previous = $6, received_at = $7 "
        "WHERE deployment_id = $1 AND target = $2 AND idempotency_id = $3 "
        "AND outcome IS NULL RETURNING true",
        deployment_id,
        target,
        idempotency_id,
        answer.outcome,
        answer.detail,
        answer.previous,
        now,
    )
    if stored:
        return Recorded.NEW
    row = await uow.fetchrow(
        f"SELECT outcome, detail, previous FROM {_table(uow)} "
        "WHERE deployment_id = $1 AND target = $2 AND idempotency_id = $3",
        deployment_id,
        target,
        idempotency_id,
    )
    if row is None:
        return Recorded.UNKNOWN
    return Recorded.SAME if Result(**dict(row)) == answer else Recorded.DIFFERENT
