"""The read models kept beside release-svc's events, written in the same unit of work, and
rebuilt from those events should one be lost or change shape."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
from collections.abc import AsyncGenerator
from typing import Any, cast
from uuid import UUID

import asyncpg

from ferry import aggregate
from ferry.db import UnitOfWork
from ferry.events import REGISTRY
from ferry.events.policy import FreezeEvent
from ferry.events.release import ReleaseEvent
from ferry.eventstore import replayed
from release_svc.adapters import (
    communications,
    dependency_graph,
    improvement_actions,
    release_list,
    schedule,
)
from release_svc.domain.communications import schedule as communication_schedule
from release_svc.domain.freezes import Freeze
from release_svc.domain.release import Release
from release_svc.projections import freezes


async def save(uow: UnitOfWork, release: Release) -> None:
    """Bring every read model up to `release` as it now is."""
    await release_list.save(uow, release)
    # Just planned (its first event), nothing of the release is stored yet: what it does
    # not have needs no deleting. The plan's transaction holds the year's release number,
    # so each statement spared is one less every other plan waits for (#16).
    just_planned = release.version == 1
    if release.windows or not just_planned:
        await schedule.save(uow, release)
    if communication_schedule(release) or not just_planned:
        await communications.save(uow, release)
    if release.actions:
        await improvement_actions.save(uow, release)


async def save_dependencies(uow: UnitOfWork, release: Release) -> None:
    """Bring the dependency graph up to `release`; only a change of its dependencies moves
    it, so the other changes leave it be."""
    await dependency_graph.save(uow, release)


async def save_communications(uow: UnitOfWork, release: Release) -> None:
    """Bring only the release's communication schedule up to it (the communications job
    catching up a schedule that was behind)."""
    await communications.save(uow, release)


_UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


async def _streams(uow: UnitOfWork, prefix: str) -> list[tuple[str, UUID]]:
    """(stream, aggregate id) of every stream named `<prefix>-<uuid>`."""
    rows = await uow.fetch(
        f'SELECT DISTINCT stream_id FROM "{uow.schema}".events WHERE stream_id ~ $1',
        f"^{prefix}-{_UUID}$",
    )
    return [(row["stream_id"], UUID(row["stream_id"].removeprefix(f"{prefix}-"))) for row in rows]


_PAGE = 10_000
"""Events read per query of the rebuild's scan."""
_BATCH = 1_000
"""Releases whose read-model writes are sent together."""
_TURN = 50
"""Releases replayed between turns given to the page being read meanwhile."""


def _replay(release_id: UUID, found: list[tuple[str, dict[str, Any]]]) -> Release:
    """The release of these (type, data), as `aggregate.rebuild` replays a stream."""
    events = replayed(found, REGISTRY)
    release = Release(release_id)
    for event in events.events:
        if isinstance(event, ReleaseEvent):
            release.apply(event)
    # Counting the events it cannot read too: the stream's version.
    release.version = events.version
    return release


async def _releases(uow: UnitOfWork) -> AsyncGenerator[Release, None]:
    """Every release, rebuilt from its stream: one scan of the release streams in (stream,
    version) order, a page at a time, not a query per stream. The next page is read (after
    the writes sent so far) while this one is replayed: the database and Python take turns
    less. Close it (`contextlib.aclosing`) before the unit of work: a page may be in flight."""
    # LIKE, not the stream pattern: a regular expression on each row costs more than the
    # scan itself; the pattern is checked once per stream instead.
    sql = (
        f'SELECT stream_id, type, data, stream_version FROM "{uow.schema}".events '
        "WHERE stream_id LIKE $1 AND (stream_id, stream_version) > ($2, $3) "
        f"ORDER BY stream_id, stream_version LIMIT {_PAGE}"
    )
    prefix = f"{ReleaseEvent.stream_prefix}-"
    starts = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    release_stream = re.compile(f"{re.escape(prefix)}({_UUID})")

    def page(after: tuple[str, int]) -> asyncio.Task[list[asyncpg.Record]]:
        return asyncio.create_task(uow.fetch(sql, starts, *after))

    ahead: asyncio.Task[list[asyncpg.Record]] | None = page(("", 0))
    release_id: UUID | None = None
    stream, done = "", 0
    found: list[tuple[str, dict[str, Any]]] = []
    try:
        while ahead is not None:
            rows = await ahead
            ahead = page((rows[-1][0], rows[-1][3])) if len(rows) == _PAGE else None
            for row in rows:
                if row[0] != stream:
                    if release_id is not None:
                        yield _replay(release_id, found)
                        done += 1
                        if done % _TURN == 0:
                            await asyncio.sleep(0)
                    stream, found = row[0], []
                    matched = release_stream.fullmatch(stream)
                    release_id = UUID(matched[1]) if matched else None
                found.append((row[1], row[2]))
        if release_id is not None:
            yield _replay(release_id, found)
    finally:
        if ahead is not None:
            # Its statement must end before the unit of work may use the connection again.
            await asyncio.wait([ahead])
            if not ahead.cancelled():
                ahead.exception()  # retrieved: the error that ended the scan is the one raised


class _HeldWrites:
    """Stands in for the unit of work while the rebuild saves releases' read models: their
    writes (`execute`, all the savers do) are held per statement, then handed to the unit of
    work as one `executemany` each, which asyncpg pipelines: a round trip per thousand
    releases instead of one per release and table. Batches run in the order their
    statements first came, so each release's writes still run in the order it made them."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.schema = uow.schema
        self._uow = uow
        self._held: dict[str, list[tuple[Any, ...]]] = {}

    async def execute(self, sql: str, *args: Any) -> str:
        self._held.setdefault(sql, []).append(args)
        return "held"

    def send(self) -> None:
        """Queue the held writes on the unit of work: they run before its next statement
        (the scan's next page) or at its commit."""
        for sql, rows in self._held.items():
            self._uow.defer(functools.partial(_execute_many, sql, rows))
        self._held = {}


async def _execute_many(sql: str, rows: list[tuple[Any, ...]], conn: asyncpg.Connection) -> None:
    await conn.executemany(sql, rows)


async def rebuild(uow: UnitOfWork) -> int:
    """Recreate the release list, dependency graph, schedule, improvement actions and freeze
    list from the event streams; the number of releases. What was announced of communication
    plans is history, kept as it is; their due times are brought up to date. The delivery
    metrics' tables come from deploy-svc's events, not these streams: replaying
    `deploy.events` rebuilds them (`adapters.delivery`)."""
    for table in (
        "release_list",
        "release_dependencies",
        "deployment_windows",
        "freeze_periods",
        "improvement_actions",
    ):
        await uow.execute(f'DELETE FROM "{uow.schema}".{table}')
    # Replayed here, not through the handlers: a projection sits below them. Every stream
    # found has events, so each aggregate exists.
    for stream, freeze_id in await _streams(uow, FreezeEvent.stream_prefix):
        freeze = await aggregate.rebuild(uow.events, stream, Freeze(freeze_id), FreezeEvent)
        await freezes.save(uow, freeze)
    # The savers are the ones every change uses; only their writes are batched (#16).
    held = _HeldWrites(uow)
    savers = cast(UnitOfWork, held)
    count = 0
    async with contextlib.aclosing(_releases(uow)) as releases:
        async for release in releases:
            await save(savers, release)
            await save_dependencies(savers, release)
            count += 1
            if count % _BATCH == 0:
                held.send()
    held.send()
    return count
