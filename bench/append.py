"""Benchmark 1: single-event appends through the event store against raw asyncpg INSERTs,
the same appends by 64 concurrent writers, and the `eventsourcing` library's PostgreSQL
recorder appending the same events (a peer's figure, in the same run)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from bench.common import (
    EVENT_COLUMNS,
    META,
    Config,
    Figure,
    fresh_schema,
    json_text,
    metadata_of,
    planned,
    progress,
    raw_connection,
    rescheduled,
)
from bench.peer import Peer
from ferry.db import Database
from ferry.events import Event

APPEND_TARGET_RATIO = 0.50
CONCURRENT_WRITERS = 64
CONCURRENT_TARGET_RATIO = 2.0
"""64 concurrent appenders against the raw single-row insert rate measured sequentially."""
PEER_TARGET_RATIO = 3.0
"""Ferry's single-event append against the `eventsourcing` library's recorder."""

Plan = list[tuple[str, int, Event]]
"""(stream id, expected version = the stream's head, event) per append, in order."""


def append_plan(n: int, rng: random.Random) -> Plan:
    """Half the appends open a new stream, half go to the head of an existing one."""
    heads: dict[UUID, int] = {}
    ids: list[UUID] = []
    plan: Plan = []
    for i in range(n):
        if i % 2 == 0 or not ids:
            release_id = uuid4()
            ids.append(release_id)
            heads[release_id] = 0
            event: Event = planned(release_id, i)
        else:
            release_id = rng.choice(ids)
            event = rescheduled(release_id, i)
        plan.append((event.stream_id(), heads[release_id], event))
        heads[release_id] += 1
    return plan


def raw_rows(plan: Plan) -> list[tuple[Any, ...]]:
    """The same rows, ready for a prepared INSERT (their JSON encoded up front)."""
    now = datetime.now(UTC)
    return [
        (
            uuid4(),
            f"raw-{stream}",
            version + 1,
            event.type,
            json_text(event.data()),
            json_text(metadata_of(event.aggregate_id(), now)),
        )
        for stream, version, event in plan
    ]


async def time_store_appends(db: Database, plan: Plan) -> float:
    """Events/s of single-event appends, each its own unit of work."""
    start = time.perf_counter()
    for stream, version, event in plan:
        async with db.unit_of_work() as uow:
            await uow.events.append(stream, version, [event], META)
            await uow.commit()
    return len(plan) / (time.perf_counter() - start)


async def time_concurrent_appends(db: Database, plan: Plan, writers: int) -> float:
    """Events/s of the same appends shared among `writers` concurrent tasks, each append its
    own unit of work; a stream's appends stay with one writer, in order."""
    lanes: dict[str, list[tuple[str, int, Event]]] = {}
    for step in plan:
        lanes.setdefault(step[0], []).append(step)
    queues: list[list[tuple[str, int, Event]]] = [[] for _ in range(writers)]
    for i, lane in enumerate(lanes.values()):
        queues[i % writers].extend(lane)

    async def writer(queue: list[tuple[str, int, Event]]) -> None:
        for stream, version, event in queue:
            async with db.unit_of_work() as uow:
                await uow.events.append(stream, version, [event], META)
                await uow.commit()

    start = time.perf_counter()
    await asyncio.gather(*(writer(q) for q in queues))
    return len(plan) / (time.perf_counter() - start)


async def time_raw_inserts(stmt: Any, rows: Sequence[tuple[Any, ...]]) -> float:
    """Events/s of a prepared single-row INSERT, autocommit, one connection."""
    start = time.perf_counter()
    for row in rows:
        await stmt.fetch(*row)
    return len(rows) / (time.perf_counter() - start)


async def bench_append(cfg: Config) -> list[Figure]:
    n = cfg.append_n
    warm = max(n // 10, 100)
    rng = random.Random(1)
    progress(
        f"append: {n} single-event appends x {cfg.rounds} rounds: store, raw asyncpg, "
        f"{CONCURRENT_WRITERS} concurrent writers, and the eventsourcing library's recorder"
    )
    peer = await asyncio.to_thread(Peer, cfg.raw_url)
    try:
        async with fresh_schema(cfg) as db, raw_connection(cfg) as conn:
            stmt = await conn.prepare(
                f'INSERT INTO "{db.schema}".events ({", ".join(EVENT_COLUMNS)}) '
                "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"
            )
            await time_store_appends(db, append_plan(warm, rng))
            await time_raw_inserts(stmt, raw_rows(append_plan(warm, rng)))
            await peer.time_appends(append_plan(warm, rng))
            runs: dict[str, Callable[[], Awaitable[float]]] = {
                "store": lambda: time_store_appends(db, append_plan(n, rng)),
                "raw": lambda: time_raw_inserts(stmt, raw_rows(append_plan(n, rng))),
                "concurrent": lambda: time_concurrent_appends(
                    db, append_plan(n, rng), CONCURRENT_WRITERS
                ),
                "peer": lambda: peer.time_appends(append_plan(n, rng)),
            }
            rates: dict[str, list[float]] = {name: [] for name in runs}
            for r in range(cfg.rounds):
                # Rotate which goes first, so drift (autovacuum, checkpoints) hits them all.
                order = list(runs)[r % 4 :] + list(runs)[: r % 4]
                for name in order:
                    rates[name].append(await runs[name]())
                progress(
                    f"  round {r + 1}: "
                    + " ".join(f"{name} {rates[name][-1]:,.0f}/s" for name in runs)
                )
    finally:
        await asyncio.to_thread(peer.close)

    # Paired: each round's rate against the other measured right beside it, so the
    # machine's drift between rounds cancels out of the ratio.
    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))

    ratio = paired("store", "raw")
    concurrent = paired("concurrent", "raw")
    versus_peer = paired("store", "peer")
    names = {
        "store": "store append (UoW, 1 event)",
        "raw": "raw asyncpg INSERT baseline",
        "concurrent": f"store append, {CONCURRENT_WRITERS} concurrent writers",
        "peer": "eventsourcing recorder append (peer)",
    }
    return [
        *(
            Figure(
                "append", names[k], statistics.median(v), "events/s", detail={"rounds": v, "n": n}
            )
            for k, v in rates.items()
        ),
        Figure(
            "append",
            "append ratio store/raw (paired)",
            ratio,
            "x",
            target=f">= {APPEND_TARGET_RATIO:.2f}",
            passed=ratio >= APPEND_TARGET_RATIO,
        ),
        Figure(
            "append",
            f"{CONCURRENT_WRITERS} writers / sequential raw (paired)",
            concurrent,
            "x",
            target=f">= {CONCURRENT_TARGET_RATIO:.2f}",
            passed=concurrent >= CONCURRENT_TARGET_RATIO,
        ),
        Figure(
            "append",
            "store / eventsourcing peer (paired)",
            versus_peer,
            "x",
            target=f">= {PEER_TARGET_RATIO:.2f}",
            passed=versus_peer >= PEER_TARGET_RATIO,
        ),
    ]
