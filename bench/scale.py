"""release-svc at scale (issue #16): a full read-model rebuild over many events, a restarted
service's first answer, the release list over many releases, and the event feed fanned out
to many subscribers.

The releases' events are decided by release-svc's own `Release` aggregate (ten per release:
plan, scope, windows, communications, risk, backout plan, four reschedules), a few distinct
plans cloned under fresh ids, and bulk-loaded with COPY as bench.replay loads records; the
read models then come from `release_svc.projections.releases.rebuild`, which is what is
timed, and the restarted service reads them as it always does.

Targets: rebuild >= 50,000 events/s; `GET /releases?limit=50` p99 <= 50 ms at 16
connections; each event reaches every subscriber of `GET /events` within p99 <= 100 ms of
its command's answer. The restart's time to a first answer is reported, without a target.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import orjson

from bench import api_data, wrk
from bench.api import cfg_state_dir
from bench.common import (
    EVENT_COLUMNS,
    BenchError,
    Config,
    Figure,
    json_text,
    metadata_of,
    progress,
    raw_connection,
)
from bench.processes import Server, ferry_service, log_tail, replica
from ferry.db import Database
from ferry.devauth import DevIssuer
from ferry.events.release import (
    Activity,
    DeploymentWindow,
    Level,
    Milestone,
    ReleaseEvent,
    ScopeItem,
    ScopeKind,
    Span,
)
from release_svc.domain import commands
from release_svc.domain.release import Release
from release_svc.projections.releases import rebuild

REBUILD_TARGET = 50_000.0
LIST_P99_TARGET_MS = 50.0
FEED_P99_TARGET_MS = 100.0
CONNECTIONS = 16
PLANS = 20
"""Distinct plans (their dates differ), cloned under fresh ids."""
COPY_CHUNK = 20_000
FIRST_ANSWER_SECONDS = 120.0
TOKEN_SECONDS = 6 * 3600
DELIVERY_WAIT_SECONDS = 30.0


# --- the events ------------------------------------------------------------------------


def _decided(k: int) -> list[ReleaseEvent]:
    """One release's ten events as the `Release` aggregate decides them, its dates moved
    by `k` days. In 2031: nothing is due, so the communications job stays idle."""
    rid, by = uuid4(), "bench"
    start = date(2031, 1, 5) + timedelta(days=k)
    release, decided = Release(rid), []

    def do(events: list[ReleaseEvent]) -> None:
        for event in events:
            release.apply(event)
        decided.extend(events)

    def activities(moved: int) -> dict[Activity, Span]:
        day = start + timedelta(days=moved + 14)
        return {Activity.DEPLOYMENT: Span(start=day, end=day + timedelta(days=1))}

    end = start + timedelta(days=30)
    plan = commands.PlanRelease(
        rid, "bench release", "2031.1.0", start, end, by, "REL-2025-0000",
        description="a release loaded by the scale benchmark", activities=activities(0),
    )  # fmt: skip
    do(release.plan(plan))
    scope = [ScopeItem(kind=ScopeKind.SERVICE, name="pay")]
    do(release.set_scope(commands.SetScope(rid, scope, by)))
    at = datetime(start.year, start.month, start.day, 22, tzinfo=UTC) + timedelta(days=14)
    window = DeploymentWindow(environment="production", start=at, end=at + timedelta(hours=2))
    do(release.set_windows(commands.SetWindows(rid, [window], by), [], {}))
    told = commands.PlannedCommunication(
        "customers", "email", "payments pause", Milestone.DEPLOYMENT_START, timedelta(days=-2)
    )
    do(release.set_communication_plan(commands.SetCommunicationPlan(rid, [told], by)))
    risk = commands.AssessRisk(rid, Level.MEDIUM, Level.LOW, ["pay"], ["canary first"], by)
    do(release.assess_risk(risk))
    do(release.set_backout_plan(commands.SetBackoutPlan(rid, ["errors > 1%"], ["roll back"], by)))
    for moved in range(1, 5):
        shift = timedelta(days=moved)
        reschedule = commands.RescheduleRelease(
            rid, start + shift, end + shift, f"moved {moved}", by, activities(moved)
        )
        do(release.reschedule(reschedule))
    return decided


def _templates(per_release: int) -> list[list[tuple[str, dict[str, Any]]]]:
    """(type, data) of each plan's first `per_release` events."""
    templates = []
    for k in range(PLANS):
        events = _decided(k)
        if len(events) < per_release:
            raise BenchError(f"a release's plan makes {len(events)} events, not {per_release}")
        templates.append([(e.type, e.data()) for e in events[:per_release]])
    return templates


def _records(release_ids: list[UUID], per_release: int) -> Iterator[list[tuple[Any, ...]]]:
    """The rows of `events` for these releases, in chunks: the templates' events under each
    release's id (and, planned, its own name and identifier)."""
    templates = _templates(per_release)
    now = datetime.now(UTC)
    chunk: list[tuple[Any, ...]] = []
    for i, release_id in enumerate(release_ids):
        subject = str(release_id)
        stream = f"release-{subject}"
        meta = json_text(metadata_of(subject, now))
        for version, (event_type, data) in enumerate(templates[i % PLANS], start=1):
            own = {**data, "release_id": subject}
            if version == 1:
                own |= {"name": f"bench release {i}", "identifier": f"REL-2025-{i + 1:06d}"}
            chunk.append((uuid4(), stream, version, event_type, json_text(own), meta))
        if len(chunk) >= COPY_CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _load(cfg: Config, schema: str, release_ids: list[UUID]) -> None:
    started = time.perf_counter()
    async with raw_connection(cfg) as conn:
        for records in _records(release_ids, cfg.scale_events_per_release):
            await conn.copy_records_to_table(
                "events", schema_name=schema, columns=EVENT_COLUMNS, records=records
            )
        await conn.execute(f'ANALYZE "{schema}".events')
    total = len(release_ids) * cfg.scale_events_per_release
    progress(f"scale: {total:,} events loaded in {time.perf_counter() - started:.1f} s")


# --- rebuild ---------------------------------------------------------------------------


async def _rebuilt(
    cfg: Config, schema: str, releases: int, profiler: cProfile.Profile | None
) -> float:
    """Seconds of one full rebuild (committed) from a schema that lost every read model,
    by a process of its own: a fresh `Database`, so nothing of the streams is cached."""
    db = Database(cfg.database_url, schema, "bench-rebuild")
    try:
        async with db.unit_of_work() as uow:
            # Lost too (the rebuild keeps what was announced): each round rebuilds it all.
            await uow.execute(f'DELETE FROM "{schema}".communications')
            await uow.commit()
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        try:
            async with db.unit_of_work() as uow:
                found = await rebuild(uow)
                await uow.commit()
        finally:
            if profiler is not None:
                profiler.disable()
        elapsed = time.perf_counter() - started
        async with db.unit_of_work() as uow:
            listed = await uow.fetchval(f'SELECT count(*) FROM "{schema}".release_list')
            windows = await uow.fetchval(f'SELECT count(*) FROM "{schema}".deployment_windows')
    finally:
        await db.dispose()
    if not found == listed == windows == releases:
        raise BenchError(
            f"rebuild: {found:,} releases rebuilt, {listed:,} listed, {windows:,} windows; "
            f"{releases:,} loaded"
        )
    return elapsed


async def _rebuild_figures(cfg: Config, server: Server, releases: int) -> list[Figure]:
    events = releases * cfg.scale_events_per_release
    rates: list[float] = []
    for round_ in range(cfg.scale_rounds):
        seconds = await _rebuilt(cfg, server.schema, releases, None)
        rates.append(events / seconds)
        progress(
            f"scale: rebuild {round_ + 1}: {events:,} events in {seconds:.1f} s, "
            f"{rates[-1]:,.0f} events/s"
        )
    if cfg.profile:
        profiler = cProfile.Profile()
        await _rebuilt(cfg, server.schema, releases, profiler)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(30)
        print(out.getvalue(), file=sys.stderr)
    rate = statistics.median(rates)
    return [
        Figure(
            "scale",
            f"rebuild, {events:,} events ({releases:,} releases)",
            rate,
            "events/s",
            f">= {REBUILD_TARGET:,.0f}",
            rate >= REBUILD_TARGET,
            {"rounds": rates},
        )
    ]


# --- restart ---------------------------------------------------------------------------


async def _first_answer(
    server: Server, headers: dict[str, str], release_id: UUID, status: int, started: float
) -> float:
    """Seconds from `started` (just before `server`'s process was started) until
    `GET /releases/{id}` answers `status` (200; 404 for a release that is not there)."""
    deadline = started + FIRST_ANSWER_SECONDS
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=10) as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise BenchError(f"restart: {server.name} exited; {log_tail(server)}")
            with contextlib.suppress(httpx.TransportError):
                answer = await http.get(f"/releases/{release_id}")
                if answer.status_code == status:
                    return time.monotonic() - started
                if answer.status_code != 503:
                    raise BenchError(f"restart: GET /releases/{{id}} answered {answer.text}")
            await asyncio.sleep(0.01)
    raise BenchError(f"restart: no answer in {FIRST_ANSWER_SECONDS:g} s; {log_tail(server)}")


# --- the release list ------------------------------------------------------------------


async def _list_figures(
    cfg: Config, server: Server, headers: dict[str, str], releases: int
) -> list[Figure]:
    load = wrk.Load("static.lua", ("GET", "/releases?limit=50", "-"))
    await wrk.run(server.url, load, CONNECTIONS, 1, headers)  # warm-up
    results = []
    for round_ in range(cfg.api_rounds):
        results.append(await wrk.run(server.url, load, CONNECTIONS, cfg.api_seconds, headers))
        progress(
            f"scale: GET /releases?limit=50 round {round_ + 1}: {results[-1].rate:,.0f} req/s, "
            f"p99 {results[-1].p99_ms:,.1f} ms"
        )
    name = f"GET /releases?limit=50 over {releases:,} releases, {CONNECTIONS} conn"
    p99 = statistics.median(r.p99_ms for r in results)
    return [
        Figure("scale", f"{name}: req/s", statistics.median(r.rate for r in results), "req/s"),
        Figure("scale", f"{name}: p50", statistics.median(r.p50_ms for r in results), "ms"),
        Figure(
            "scale",
            f"{name}: p99",
            p99,
            "ms",
            f"<= {LIST_P99_TARGET_MS:g} ms",
            p99 <= LIST_P99_TARGET_MS,
            {"rounds": [vars(r) for r in results]},
        ),
    ]


# --- the event feed --------------------------------------------------------------------


@dataclass
class Subscriber:
    """One `GET /events` stream: when it was open, and each message received, with when."""

    token: str
    ready: asyncio.Event
    received: list[tuple[float, float, bytes]]
    """(time.monotonic(), time.time(), message) of each ReleasePlanned received."""

    async def listen(self, http: httpx.AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with http.stream("GET", "/events", headers=headers) as answer:
            if answer.status_code != 200:
                await answer.aread()
                raise BenchError(f"GET /events answered {answer.status_code}: {answer.text}")
            buffer = b""
            async for chunk in answer.aiter_bytes():
                now, wall = time.monotonic(), time.time()
                buffer += chunk
                *messages, buffer = buffer.split(b"\n\n")
                for message in messages:
                    # The first message is only a position: the stream is open from here.
                    self.ready.set()
                    if b"\nevent: ReleasePlanned\n" in message:
                        self.received.append((now, wall, message))


def _planned_id(message: bytes) -> tuple[str, float]:
    """The release a ReleasePlanned message is of, and its event's `time` (epoch s)."""
    data = b"".join(
        line.removeprefix(b"data: ") for line in message.split(b"\n") if line.startswith(b"data:")
    )
    envelope = orjson.loads(data)
    return envelope["subject"], datetime.fromisoformat(envelope["time"]).timestamp()


async def _publish(
    server: Server, headers: dict[str, str], count: int, rate: float
) -> dict[str, float]:
    """Plan `count` releases through the API, `rate` a second: when each was answered."""
    acked: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
        started = time.monotonic()
        for i in range(count):
            await asyncio.sleep(max(0.0, started + i / rate - time.monotonic()))
            answer = await http.post("/releases", json=api_data.PLAN)
            if answer.status_code != 201:
                raise BenchError(f"feed: POST /releases answered {answer.status_code}")
            acked[answer.json()["id"]] = time.monotonic()
    return acked


async def _feed_figures(cfg: Config, server: Server, issuer: DevIssuer) -> list[Figure]:
    count = int(cfg.scale_feed_rate * cfg.scale_feed_seconds)
    # A subject each: the feed allows one caller only a few streams at once.
    tokens = [
        issuer.mint(f"bench-feed-{i}", ("viewer",), ttl=TOKEN_SECONDS)
        for i in range(cfg.scale_subscribers)
    ]
    subscribers = [Subscriber(token, asyncio.Event(), []) for token in tokens]
    headers = {"Authorization": f"Bearer {issuer.mint('bench', ('release-manager',))}"}
    limits = httpx.Limits(max_connections=len(subscribers), max_keepalive_connections=0)
    timeout = httpx.Timeout(30, read=None)
    async with (
        httpx.AsyncClient(base_url=server.url, limits=limits, timeout=timeout) as http,
        asyncio.TaskGroup() as streams,
    ):
        listening = [streams.create_task(s.listen(http)) for s in subscribers]
        try:
            async with asyncio.timeout(60):
                await asyncio.gather(*(s.ready.wait() for s in subscribers))
            progress(
                f"scale: {len(subscribers)} subscribers on GET /events; planning {count} "
                f"releases at {cfg.scale_feed_rate:g}/s"
            )
            acked = await _publish(server, headers, count, cfg.scale_feed_rate)
            deadline = time.monotonic() + DELIVERY_WAIT_SECONDS
            while time.monotonic() < deadline:
                if all(len(s.received) >= count for s in subscribers):
                    break
                await asyncio.sleep(0.2)
        finally:
            for task in listening:
                task.cancel()
    latencies, since_time, missed = [], [], 0
    for subscriber in subscribers:
        seen = set()
        for now, wall, message in subscriber.received:
            release_id, at = _planned_id(message)
            if release_id in acked:
                seen.add(release_id)
                latencies.append((now - acked[release_id]) * 1000)
                since_time.append((wall - at) * 1000)
        missed += count - len(seen)
    if not latencies:
        raise BenchError(f"feed: no subscriber received any event; {log_tail(server)}")
    cuts = statistics.quantiles(latencies, n=100)
    p99 = cuts[98]
    name = f"event feed, {len(subscribers)} subscribers, {count} events"
    detail = {
        "deliveries": len(latencies),
        "max_ms": max(latencies),
        "p99_since_event_time_ms": statistics.quantiles(since_time, n=100)[98],
    }
    return [
        Figure("scale", f"{name}: p50 delivery", cuts[49], "ms"),
        Figure(
            "scale",
            f"{name}: p99 delivery",
            p99,
            "ms",
            f"<= {FEED_P99_TARGET_MS:g} ms",
            p99 <= FEED_P99_TARGET_MS,
            detail,
        ),
        Figure("scale", f"{name}: missed deliveries", missed, "deliveries", "= 0", missed == 0),
    ]


# --- the section -----------------------------------------------------------------------


async def bench_scale(cfg: Config) -> list[Figure]:
    releases = cfg.scale_releases
    events = releases * cfg.scale_events_per_release
    progress(
        f"scale: {events:,} events of {releases:,} releases; rebuild x {cfg.scale_rounds}, "
        f"restart, list, feed to {cfg.scale_subscribers} subscribers"
    )
    with tempfile.TemporaryDirectory(dir=cfg_state_dir()) as tmp:
        work = Path(tmp)
        issuer = DevIssuer(work / "auth")
        token = issuer.mint("bench", ("release-manager", "viewer"), ttl=TOKEN_SECONDS)
        headers = {"Authorization": f"Bearer {token}"}
        async with ferry_service(cfg, work, "release") as first:
            # Its schema is migrated; the events go in while no service runs on it.
            first.process.terminate()
            await asyncio.to_thread(first.process.wait)
            # The same restart on the empty schema: what start-up takes whatever the data.
            started = time.monotonic()
            async with replica(first, work, workers=1, wait=False) as empty:
                bare = await _first_answer(empty, headers, uuid4(), 404, started)
            release_ids = [uuid4() for _ in range(releases)]
            await _load(cfg, first.schema, release_ids)
            figures = await _rebuild_figures(cfg, first, releases)
            started = time.monotonic()
            async with replica(first, work, workers=1, wait=False) as restarted:
                seconds = await _first_answer(restarted, headers, release_ids[-1], 200, started)
                progress(
                    f"scale: restarted, first GET /releases/{{id}} after {seconds:.2f} s "
                    f"({bare:.2f} s on the empty schema)"
                )
                name = f"restart: first GET /releases/{{id}} ({events:,} events)"
                figures.append(Figure("scale", name, seconds * 1000, "ms"))
                name = "restart: first GET /releases/{id} (no events: start-up alone)"
                figures.append(Figure("scale", name, bare * 1000, "ms"))
                figures += await _list_figures(cfg, restarted, headers, releases)
                figures += await _feed_figures(cfg, restarted, issuer)
    return figures
