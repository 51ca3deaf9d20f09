"""Benchmark 1: single-event appends through the event store against raw asyncpg INSERTs."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
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
from ferry.db import Database
from ferry.events import Event

APPEND_TARGET_RATIO = 0.50

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
    progress(f"append: {n} single-event appends x {cfg.rounds} rounds, store vs raw asyncpg")
    async with fresh_schema(cfg) as db, raw_connection(cfg) as conn:
        stmt = await conn.prepare(
            f'INSERT INTO "{db.schema}".events ({", ".join(EVENT_COLUMNS)}) '
            "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)"
        )
        await time_store_appends(db, append_plan(warm, rng))
        await time_raw_inserts(stmt, raw_rows(append_plan(warm, rng)))
        store_rates: list[float] = []
        raw_rates: list[float] = []
        for r in range(cfg.rounds):
            store_plan = append_plan(n, rng)
            rows = raw_rows(append_plan(n, rng))
            # Alternate which goes first, so drift (autovacuum, checkpoints) hits both.
            if r % 2 == 0:
                store_rates.append(await time_store_appends(db, store_plan))
                raw_rates.append(await time_raw_inserts(stmt, rows))
            else:
                raw_rates.append(await time_raw_inserts(stmt, rows))
                store_rates.append(await time_store_appends(db, store_plan))
            progress(f"  round {r + 1}: store {store_rates[-1]:,.0f}/s raw {raw_rates[-1]:,.0f}/s")
    store = statistics.median(store_rates)
    raw = statistics.median(raw_rates)
    # Paired: each round's store rate against the raw rate measured right beside it, so
    # the machine's drift between rounds cancels out of the ratio.
    ratio = statistics.median(s / r for s, r in zip(store_rates, raw_rates, strict=True))
    return [
        Figure(
            "append",
            "store append (UoW, 1 event)",
            store,
            "events/s",
            detail={"rounds": store_rates, "n": n},
        ),
        Figure(
            "append",
            "raw asyncpg INSERT baseline",
            raw,
            "events/s",
            detail={"rounds": raw_rates, "n": n},
        ),
        Figure(
            "append",
            "append ratio store/raw (paired)",
            ratio,
            "x",
            target=f">= {APPEND_TARGET_RATIO:.2f}",
            passed=ratio >= APPEND_TARGET_RATIO,
        ),
    ]
