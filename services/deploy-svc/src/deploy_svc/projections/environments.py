"""The environment list, kept with every definition."""

from __future__ import annotations

import asyncpg

from deploy_svc.domain.environment import Environment
from ferry.db import UnitOfWork
from ferry.events.deploy import TargetSpec


async def save(uow: UnitOfWork, environment: Environment) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".environments '
        "(name, production, targets, stream_version, environment_class) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE "
        "SET production = $2, targets = $3, stream_version = $4, environment_class = $5",
        environment.name,
        environment.production,
        [t.model_dump(mode="json") for t in environment.targets],
        environment.version,
        str(environment.environment_class),
    )


async def all_(uow: UnitOfWork) -> list[asyncpg.Record]:
    return list(
        await uow.fetch(
            "SELECT name, production, environment_class, targets, stream_version "
            f'FROM "{uow.schema}".environments ORDER BY name'
        )
    )


async def elsewhere(uow: UnitOfWork) -> dict[str, tuple[bool, list[TargetSpec]]]:
    """Every environment, by name: whether it is production, and its targets."""
    return {
        row["name"]: (row["production"], [TargetSpec(**t) for t in row["targets"]])
        for row in await all_(uow)
    }
