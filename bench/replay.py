"""Benchmark 2: replaying streams into typed events against a raw asyncpg fetch."""

from __future__ import annotations

import cProfile
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from bench.common import (
    EVENT_COLUMNS,
    BenchError,
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
from ferry.events import REGISTRY, Event

REPLAY_TARGET_RATE = 100_000.0


def replay_records(stream_ids: Sequence[UUID], per_stream: int) -> list[tuple[Any, ...]]:
    now = datetime.now(UTC)
    records: list[tuple[Any, ...]] = []
    for s, release_id in enumerate(stream_ids):
        subject = str(release_id)
        meta = json_text(metadata_of(subject, now))
        for v in range(1, per_stream + 1):
            event: Event = planned(release_id, s) if v == 1 else rescheduled(release_id, v)
            records.append(
                (uuid4(), event.stream_id(), v, event.type, json_text(event.data()), meta)
            )
    return records


async def bulk_load(conn: Any, schema: str, records: list[tuple[Any, ...]]) -> None:
    chunk = 20_000
    for i in range(0, len(records), chunk):
        await conn.copy_records_to_table(
            "events", schema_name=schema, columns=EVENT_COLUMNS, records=records[i : i + chunk]
        )
    await conn.execute(f'ANALYZE "{schema}".events')


async def time_store_replay(db: Database, streams: Sequence[str], expected: int) -> float:
    """Events/s of replaying every stream into typed events, as handlers rebuild aggregates."""
    start = time.perf_counter()
    count = 0
    async with db.unit_of_work() as uow:
        for stream in streams:
            replayed = await uow.events.replay(stream, REGISTRY)
            if len(replayed.events) != replayed.version:
                raise BenchError(f"the registry could not read every event of {stream}")
            count += len(replayed.events)
    elapsed = time.perf_counter() - start
    if count != expected:
        raise BenchError(f"replay loaded {count} events, expected {expected}")
    return count / elapsed


async def time_raw_replay(stmt: Any, streams: Sequence[str], expected: int) -> float:
    """Events/s of the same rows by a prepared SELECT per stream (JSONB left as text)."""
    start = time.perf_counter()
    count = 0
    for stream in streams:
        count += len(await stmt.fetch(stream))
    elapsed = time.perf_counter() - start
    if count != expected:
        raise BenchError(f"raw replay fetched {count} rows, expected {expected}")
    return count / elapsed


async def bench_replay(cfg: Config) -> list[Figure]:
    total = cfg.replay_streams * cfg.replay_per_stream
    progress(
        f"replay: {total:,} events ({cfg.replay_streams} streams x {cfg.replay_per_stream}),"
        f" replay x {cfg.rounds} rounds, store vs raw asyncpg"
    )
    async with fresh_schema(cfg) as db, raw_connection(cfg) as conn:
        release_ids = [uuid4() for _ in range(cfg.replay_streams)]
        records = replay_records(release_ids, cfg.replay_per_stream)
        started = time.perf_counter()
        await bulk_load(conn, db.schema, records)
        progress(f"  bulk-loaded {total:,} events in {time.perf_counter() - started:.1f}s")
        del records
        streams = [f"release-{r}" for r in release_ids]
        random.Random(2).shuffle(streams)
        stmt = await conn.prepare(
            "SELECT position, event_id, stream_id, stream_version, type, data, metadata,"
            f' recorded_at FROM "{db.schema}".events WHERE stream_id = $1'
            " ORDER BY stream_version"
        )
        # Warm-up: the pages into shared buffers, the statements into the caches.
        await time_store_replay(db, streams, total)
        await time_raw_replay(stmt, streams, total)
        store_rates: list[float] = []
        raw_rates: list[float] = []
        for r in range(cfg.rounds):
            if r % 2 == 0:
                store_rates.append(await time_store_replay(db, streams, total))
                raw_rates.append(await time_raw_replay(stmt, streams, total))
            else:
                raw_rates.append(await time_raw_replay(stmt, streams, total))
                store_rates.append(await time_store_replay(db, streams, total))
            progress(f"  round {r + 1}: store {store_rates[-1]:,.0f}/s raw {raw_rates[-1]:,.0f}/s")
        if cfg.profile:
            await profile_replay(db, streams, total)
    store = statistics.median(store_rates)
    raw = statistics.median(raw_rates)
    return [
        Figure(
            "replay",
            "store replay (typed events)",
            store,
            "events/s",
            target=f">= {REPLAY_TARGET_RATE:,.0f}",
            passed=store >= REPLAY_TARGET_RATE,
            detail={"rounds": store_rates, "events": total},
        ),
        Figure(
            "replay",
            "raw asyncpg fetch baseline",
            raw,
            "events/s",
            detail={"rounds": raw_rates, "events": total},
        ),
        Figure("replay", "replay ratio store/raw", store / raw, "x"),
    ]


async def profile_replay(db: Database, streams: Sequence[str], total: int) -> None:
    """One store replay under cProfile; the top functions go to stderr."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        await time_store_replay(db, streams, total)
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(40)
    print(out.getvalue(), file=sys.stderr)
