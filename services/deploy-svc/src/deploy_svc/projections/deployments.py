"""The deployment list: for browsing, for the targets active deployments hold, and for the
executor to find what is due. Written with every change to a deployment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import asyncpg

from deploy_svc.domain.deployment import ACTIVE, Deployment
from ferry.db import UnitOfWork

COLUMNS = (
    "deployment_id, release_id, environment, release_version, state, paused, strategy, "
    "scheduled_start, requested_by, targets, deployed, reason, stream_version, awaiting_window"
)
ACTIVE_STATES = sorted(str(s) for s in ACTIVE)


@dataclass(frozen=True)
class Filters:
    release_id: UUID | None = None
    environment: str | None = None
    state: str | None = None
    environments: frozenset[str] | None = None
    """Only these (a team's); None: any."""


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".deployments'


async def save(uow: UnitOfWork, deployment: Deployment) -> None:
    assert deployment.scheduled_start is not None
    await uow.execute(
        f"INSERT INTO {_table(uow)} ({COLUMNS}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
        "ON CONFLICT (deployment_id) DO UPDATE SET state = $5, paused = $6, deployed = $11, "
        "reason = $12, stream_version = $13, awaiting_window = $14",
        deployment.id,
        deployment.release_id,
        deployment.environment,
        deployment.release_version,
        str(deployment.state),
        deployment.paused,
        str(deployment.strategy),
        deployment.scheduled_start,
        deployment.requested_by,
        deployment.targets,
        sorted(deployment.deployed),
        deployment.reason,
        deployment.version,
        deployment.awaiting_window,
    )


async def busy_targets(uow: UnitOfWork, environment: str) -> dict[str, UUID]:
    """Target → the active deployment holding it, in `environment`."""
    rows = await uow.fetch(
        f"SELECT deployment_id, unnest(targets) AS target FROM {_table(uow)} "
        "WHERE environment = $1 AND state = ANY($2::text[])",
        environment,
        ACTIVE_STATES,
    )
    return {row["target"]: row["deployment_id"] for row in rows}


async def latest_completed(uow: UnitOfWork, release_id: UUID, environment: str) -> UUID | None:
    """The release's last completed deployment to `environment`, if any."""
    found: UUID | None = await uow.fetchval(
        f"SELECT deployment_id FROM {_table(uow)} WHERE release_id = $1 AND environment = $2 "
        "AND state = 'completed' ORDER BY scheduled_start DESC LIMIT 1",
        release_id,
        environment,
    )
    return found


async def hold_environment(uow: UnitOfWork, environment: str) -> None:
    """Serialise plans for one environment: two at once could each find the targets free."""
    await uow.begin()
    await uow.fetchval(
        "SELECT pg_advisory_xact_lock(hashtext($1))", f"{uow.schema}-env-{environment}"
    )


async def page(
    uow: UnitOfWork, filters: Filters, limit: int, before: datetime | None
) -> list[asyncpg.Record]:
    """The newest deployments first (by scheduled start), `limit` of them."""
    conditions, args = [], []
    for column in ("release_id", "environment", "state"):
        if (value := getattr(filters, column)) is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    if filters.environments is not None:
        args.append(sorted(filters.environments))
        conditions.append(f"environment = ANY(${len(args)}::text[])")
    if before is not None:
        args.append(before)
        conditions.append(f"scheduled_start < ${len(args)}")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args.append(limit)
    return list(
        await uow.fetch(
            f"SELECT {COLUMNS} FROM {_table(uow)} {where} "
            f"ORDER BY scheduled_start DESC, deployment_id LIMIT ${len(args)}",
            *args,
        )
    )


async def claim(
    uow: UnitOfWork, owner: str, now: datetime, until: datetime, driving: list[UUID]
) -> UUID | None:
    """Lease one due deployment nobody else holds (and `owner` is not `driving` already):
    one replica runs each. Due: not paused, or paused outside its window while a window of
    its release holds again."""
    found: UUID | None = await uow.fetchval(
        f"""WITH due AS (
                SELECT d.deployment_id FROM {_table(uow)} d
                LEFT JOIN "{uow.schema}".deployment_leases l USING (deployment_id)
                WHERE d.state = ANY($4::text[]) AND d.scheduled_start <= $2
                  AND (NOT d.paused OR d.awaiting_window AND EXISTS (
                    SELECT FROM "{uow.schema}".release_windows w
                    WHERE w.release_id = d.release_id AND w.environment = d.environment
                      AND w.starts_at <= $2 AND $2 < w.ends_at))
                  AND (l.until IS NULL OR l.until < $2 OR l.owner = $1)
                  AND NOT d.deployment_id = ANY($5::uuid[])
                ORDER BY d.scheduled_start LIMIT 1
            )
            INSERT INTO "{uow.schema}".deployment_leases (deployment_id, owner, until)
            SELECT deployment_id, $1, $3 FROM due
            ON CONFLICT (deployment_id) DO UPDATE SET owner = $1, until = $3
              WHERE deployment_leases.until < $2 OR deployment_leases.owner = $1
            RETURNING deployment_id""",
        owner,
        now,
        until,
        ACTIVE_STATES,
        driving,
    )
    return found


async def renew(uow: UnitOfWork, deployment_id: UUID, owner: str, until: datetime) -> bool:
    """Extend our lease; False if another replica took it (ours expired)."""
    done = await uow.fetchval(
        f'UPDATE "{uow.schema}".deployment_leases SET until = $3 '
        "WHERE deployment_id = $1 AND owner = $2 RETURNING deployment_id",
        deployment_id,
        owner,
        until,
    )
    return done is not None


async def release(uow: UnitOfWork, deployment_id: UUID, owner: str) -> None:
    await uow.execute(
        f'DELETE FROM "{uow.schema}".deployment_leases WHERE deployment_id = $1 AND owner = $2',
        deployment_id,
        owner,
    )
