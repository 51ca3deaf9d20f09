"""Benchmark 3: end-to-end latency from an append's commit, via the outbox relay and Kafka,
to a consumer, at a steady offered rate."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import orjson
from aiokafka import AIOKafkaConsumer

from bench.common import (
    META,
    SOURCE,
    BenchError,
    Config,
    Figure,
    delete_topic,
    fresh_schema,
    planned,
    progress,
)
from ferry.kafka import Publisher
from ferry.kafka_admin import ensure_topics
from ferry.kafka_client import uninterrupted
from ferry.outbox import OutboxRelay

OUTBOX_TARGET_P99_MS = 50.0

log = logging.getLogger("bench")


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
    await ensure_topics(cfg.kafka, [topic], partitions=3)
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
                **cfg.kafka.consumer_options(),
                group_id=None,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                fetch_max_wait_ms=100,
            )
            await uninterrupted(consumer.start())

            async def consume() -> None:
                while True:
                    batches = await consumer.getmany(timeout_ms=100)
                    arrived = time.perf_counter()
                    for records in batches.values():
                        for record in records:
                            consumed[orjson.loads(record.value)["id"]] = arrived
                    if batches:
                        arrivals.set()

            # As the services' relays publish: one transaction per batch.
            publisher = Publisher(cfg.kafka, SOURCE, transactional_id=f"{topic}.relay")
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
        await delete_topic(cfg.kafka, topic)

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
