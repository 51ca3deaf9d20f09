"""Ferry's benchmarks: event-store append and replay, and outbox-to-Kafka latency.

Usage (from the repository root, with the local stack up):

    python -m bench.run [--quick] [--json out.json] [--profile]

Reads FERRY_DATABASE_URL and FERRY_KAFKA_BOOTSTRAP_SERVERS. Every measurement gets a fresh
schema (and topic), dropped afterwards. Exits 0 when targets are missed: it is a measurement;
non-zero only on errors. See docs/benchmarks.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import json
import logging
import os
import platform
import pstats
import random
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
import uvloop
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from ferry import migrations
from ferry.db import Database
from ferry.envelope import Meta
from ferry.events import REGISTRY, Event, ReleasePlanned, ReleaseRescheduled
from ferry.kafka import Publisher
from ferry.kafka_admin import ensure_topics
from ferry.outbox import OutboxRelay

ENV_DATABASE = "FERRY_DATABASE_URL"
ENV_KAFKA = "FERRY_KAFKA_BOOTSTRAP_SERVERS"
SOURCE = "bench"
META = Meta(actor="bench", correlation_id="bench")
# release-svc's migrations create just the core tables. Located, not imported: the
# services ship no py.typed, so importing `release_svc.main` fails `mypy --strict`.
MIGRATIONS = Path(str(files("release_svc") / "migrations"))
EVENT_COLUMNS = ["event_id", "stream_id", "stream_version", "type", "data", "metadata"]

APPEND_TARGET_RATIO = 0.50
REPLAY_TARGET_RATE = 100_000.0
OUTBOX_TARGET_P99_MS = 50.0

log = logging.getLogger("bench")


class BenchError(RuntimeError):
    """The benchmark could not run (not a missed target)."""


@dataclass(frozen=True)
class Config:
    database_url: str
    bootstrap: str
    append_n: int
    rounds: int
    replay_streams: int
    replay_per_stream: int
    outbox_rate: float
    outbox_seconds: float
    outbox_warmup_seconds: float
    profile: bool
    settle: float

    @property
    def raw_url(self) -> str:
        """The URL for plain asyncpg (no SQLAlchemy dialect)."""
        return self.database_url.replace("+asyncpg", "", 1)


@dataclass
class Figure:
    """One reported number; `target` is None for context figures without a target."""

    section: str
    name: str
    value: float
    unit: str
    target: str | None = None
    passed: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- fresh schemas ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_schema(cfg: Config, *, pool_size: int = 10) -> AsyncIterator[Database]:
    """A freshly migrated schema of its own (release-svc's migrations: the core tables)."""
    schema = f"bench_{uuid4().hex[:12]}"
    try:
        await asyncio.to_thread(migrations.upgrade, cfg.database_url, schema, MIGRATIONS)
        db = Database(cfg.database_url, schema, source=SOURCE, pool_size=pool_size)
        try:
            yield db
        finally:
            await db.dispose()
    finally:
        conn = await asyncpg.connect(cfg.raw_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def raw_connection(cfg: Config) -> AsyncIterator[Any]:
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        yield conn
    finally:
        await conn.close()


def json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def metadata_of(stream_subject: str, when: datetime) -> dict[str, Any]:
    """What `PostgresEventStore` writes into `events.metadata`."""
    return {
        "source": SOURCE,
        "time": when.isoformat(),
        "subject": stream_subject,
        "correlationid": META.correlation_id,
        "causationid": META.causation_id,
        "actor": META.actor,
    }


def planned(release_id: UUID, i: int) -> ReleasePlanned:
    return ReleasePlanned(
        release_id=release_id,
        name=f"bench release {i}",
        version=f"1.{i}.0",
        planned_start=date(2030, 1, 1),
        planned_end=date(2030, 1, 31),
        release_manager="bench",
    )


def rescheduled(release_id: UUID, i: int) -> ReleaseRescheduled:
    return ReleaseRescheduled(
        release_id=release_id,
        planned_start=date(2030, 2, 1),
        planned_end=date(2030, 2, 28),
        reason=f"bench reschedule {i}",
    )


# --- 1. append -------------------------------------------------------------------------

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


# --- 2. replay -------------------------------------------------------------------------


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


# --- 3. outbox end-to-end latency ------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


@dataclass
class Offered:
    count: int
    seconds: float
    max_start_lag_ms: float
    commit_ms: list[float]


async def offer(
    rate: float, seconds: float, append: Callable[[], Coroutine[Any, Any, float]]
) -> Offered:
    """Start `append` at t0 + i/rate (open loop: a slow append does not delay the next)."""
    n = round(rate * seconds)
    tasks: list[asyncio.Task[float]] = []
    max_lag = 0.0
    t0 = time.perf_counter()
    for i in range(n):
        due = t0 + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # Late slots start at once: the schedule, not the previous sleep, sets the pace.
        max_lag = max(max_lag, time.perf_counter() - due)
        tasks.append(asyncio.create_task(append()))
    commit_ms = await asyncio.gather(*tasks)
    return Offered(n, time.perf_counter() - t0, max_lag * 1000, list(commit_ms))


async def wait_consumed(
    ids: set[str], consumed: dict[str, float], arrivals: asyncio.Event, timeout: float
) -> None:
    """Until every id in `ids` was consumed, or `timeout` seconds passed."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout):
            while not ids.issubset(consumed.keys()):
                arrivals.clear()
                await arrivals.wait()


async def delete_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()


async def bench_outbox(cfg: Config) -> list[Figure]:
    topic = f"bench-outbox-{uuid4().hex[:12]}"
    progress(
        f"outbox: {cfg.outbox_rate:.0f} appends/s for {cfg.outbox_seconds:.0f}s"
        f" (after {cfg.outbox_warmup_seconds:.0f}s warm-up), relay -> {topic} -> consumer"
    )
    committed: dict[str, float] = {}
    consumed: dict[str, float] = {}
    arrivals = asyncio.Event()
    counter = 0
    await ensure_topics(cfg.bootstrap, [topic], partitions=3)
    try:
        async with fresh_schema(cfg) as db:

            async def append_one() -> float:
                nonlocal counter
                counter += 1
                event = planned(uuid4(), counter)
                started = time.perf_counter()
                async with db.unit_of_work() as uow:
                    [envelope] = await uow.events.append(event.stream_id(), 0, [event], META)
                    await uow.commit()
                done = time.perf_counter()
                committed[str(envelope.id)] = done
                return (done - started) * 1000

            consumer = AIOKafkaConsumer(
                topic,
                bootstrap_servers=cfg.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=100,
            )
            await consumer.start()

            async def consume() -> None:
                while True:
                    batches = await consumer.getmany(timeout_ms=100)
                    arrived = time.perf_counter()
                    for records in batches.values():
                        for record in records:
                            consumed[orjson.loads(record.value)["id"]] = arrived
                    if batches:
                        arrivals.set()

            publisher = Publisher(cfg.bootstrap, SOURCE)
            relay = OutboxRelay(db, publisher, topic)
            tasks = [asyncio.create_task(relay.run()), asyncio.create_task(consume())]
            try:
                await offer(cfg.outbox_rate, cfg.outbox_warmup_seconds, append_one)
                await wait_consumed(set(committed), consumed, arrivals, 30)
                warm_ids = set(committed)
                if not warm_ids.issubset(consumed.keys()):
                    raise BenchError("warm-up events never reached the consumer")
                offered = await offer(cfg.outbox_rate, cfg.outbox_seconds, append_one)
                measured = set(committed) - warm_ids
                await wait_consumed(measured, consumed, arrivals, 30)
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await consumer.stop()
                await publisher.close()
    finally:
        await delete_topic(cfg.bootstrap, topic)

    latencies = sorted((consumed[i] - committed[i]) * 1000 for i in measured if i in consumed)
    lost = len(measured) - len(latencies)
    commit_ms = sorted(offered.commit_ms)
    p99 = percentile(latencies, 99)
    achieved = offered.count / offered.seconds
    context = {
        "events": len(measured),
        "not_consumed_within_30s": lost,
        "max_schedule_lag_ms": offered.max_start_lag_ms,
        "commit_ms_p50": percentile(commit_ms, 50),
        "commit_ms_p99": percentile(commit_ms, 99),
    }
    progress(
        f"  {len(latencies)} events, p50 {percentile(latencies, 50):.1f} ms,"
        f" p99 {p99:.1f} ms, achieved {achieved:.0f}/s, not consumed {lost}"
    )
    if lost:
        log.warning("%d events were not consumed within 30 s", lost)
    return [
        Figure("outbox", "commit -> consumed p50", percentile(latencies, 50), "ms"),
        Figure("outbox", "commit -> consumed p95", percentile(latencies, 95), "ms"),
        Figure(
            "outbox",
            "commit -> consumed p99",
            p99,
            "ms",
            target=f"<= {OUTBOX_TARGET_P99_MS:.0f}",
            passed=p99 <= OUTBOX_TARGET_P99_MS and lost == 0,
            detail=context,
        ),
        Figure(
            "outbox", "commit -> consumed max", latencies[-1] if latencies else float("nan"), "ms"
        ),
        Figure(
            "outbox",
            f"achieved rate (offered {cfg.outbox_rate:.0f})",
            achieved,
            "events/s",
            detail={"offered": cfg.outbox_rate},
        ),
        Figure("outbox", "append commit p99 (context)", context["commit_ms_p99"], "ms"),
    ]


# --- report ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def fmt(value: float, unit: str) -> str:
    if unit == "x":
        return f"{value:.2f} x"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.0f} {unit}"


def table(figures: Sequence[Figure]) -> str:
    rows = [("section", "figure", "value", "target", "result")]
    for f in figures:
        result = "" if f.passed is None else ("PASS" if f.passed else "MISS")
        rows.append((f.section, f.name, fmt(f.value, f.unit), f.target or "", result))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


# --- main ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--profile", action="store_true", help="cProfile one store replay")
    parser.add_argument(
        "--outbox-rate", type=float, default=500.0, help="offered appends/s (default 500)"
    )
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds to wait before measuring (10)"
    )
    parser.add_argument(
        "--only", choices=["append", "replay", "outbox"], action="append", help="run only these"
    )
    return parser.parse_args(argv)


def config(args: argparse.Namespace) -> Config:
    missing = [name for name in (ENV_DATABASE, ENV_KAFKA) if not os.environ.get(name)]
    if missing:
        raise BenchError(
            f"{' and '.join(missing)} not set; start the stack with"
            ' `eval "$(deploy/local/up.sh --env)"` (or run `make bench`)'
        )
    quick = bool(args.quick)
    return Config(
        database_url=os.environ[ENV_DATABASE],
        bootstrap=os.environ[ENV_KAFKA],
        append_n=500 if quick else 2000,
        rounds=3 if quick else 7,
        settle=args.settle,
        replay_streams=200 if quick else 1000,
        replay_per_stream=100,
        outbox_rate=float(args.outbox_rate),
        outbox_seconds=3.0 if quick else 10.0,
        outbox_warmup_seconds=1.0,
        profile=bool(args.profile),
    )


async def run(cfg: Config, only: Sequence[str]) -> list[Figure]:
    benches: dict[str, Callable[[Config], Awaitable[list[Figure]]]] = {
        "append": bench_append,
        "replay": bench_replay,
        "outbox": bench_outbox,
    }
    if cfg.settle > 0:
        # A broker started a moment ago is still compiling and loading on both cores.
        progress(f"letting the machine settle for {cfg.settle:g}s")
        await asyncio.sleep(cfg.settle)
    figures: list[Figure] = []
    for name, bench in benches.items():
        if name in only:
            figures.extend(await bench(cfg))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        cfg = config(args)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    only: list[str] = args.only or ["append", "replay", "outbox"]
    started = datetime.now(UTC)
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        progress(f"warning: load average {load_before[0]:.2f} before the run; figures will suffer")
    # uvloop: the event loop the services run on (uvicorn --loop uvloop), for both sides.
    figures = uvloop.run(run(cfg, only))
    print(f"\nFerry benchmarks, {started:%Y-%m-%d %H:%M} UTC, {'quick' if args.quick else 'full'}")
    info = machine()
    info["loadavg_before"] = load_before
    info["loadavg_after"] = os.getloadavg()
    print(f"machine: {info['cpus']} CPUs, {info['cpu_model']}, Python {info['python']}")
    print(
        "load average (1/5/15 min) before: {:.2f} {:.2f} {:.2f},".format(*load_before)
        + " after: {:.2f} {:.2f} {:.2f}\n".format(*info["loadavg_after"])
    )
    print(table(figures))
    if args.json:
        report = {
            "started": started.isoformat(),
            "quick": bool(args.quick),
            "machine": info,
            "figures": [asdict(f) for f in figures],
        }
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
