"""The graph of release dependencies, kept beside the release list and read whole when a
release's dependencies change (releases number in the thousands, not millions)."""

from __future__ import annotations

from uuid import UUID

from ferry.db import UnitOfWork
from release_svc.domain.release import Release


async def hold(uow: UnitOfWork) -> None:
    """Serialise dependency changes: two at once could each close half of a cycle."""
    await uow.begin()
    await uow.fetchval("SELECT pg_advisory_xact_lock(hashtext($1))", f"{uow.schema}-dependencies")


async def load(uow: UnitOfWork) -> tuple[dict[UUID, set[UUID]], dict[UUID, str]]:
    """Every known release's dependencies, and its identifier."""
    graph: dict[UUID, set[UUID]] = {}
    names: dict[UUID, str] = {}
    for row in await uow.fetch(f'SELECT release_id, identifier FROM "{uow.schema}".release_list'):
        graph[row["release_id"]] = set()
        names[row["release_id"]] = row["identifier"] or str(row["release_id"])
    for row in await uow.fetch(
        f'SELECT release_id, depends_on FROM "{uow.schema}".release_dependencies'
    ):
        graph.setdefault(row["release_id"], set()).add(row["depends_on"])
    return graph, names


async def save(uow: UnitOfWork, release: Release) -> None:
    table = f'"{uow.schema}".release_dependencies'
    await uow.execute(f"DELETE FROM {table} WHERE release_id = $1", release.id)
    if release.depends_on:
        await uow.execute(
            f"INSERT INTO {table} (release_id, depends_on) SELECT $1, unnest($2::uuid[])",
            release.id,
            sorted(release.depends_on),
        )
