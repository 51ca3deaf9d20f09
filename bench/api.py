"""Ferry's HTTP APIs under load, each request beside a bare FastAPI + asyncpg endpoint doing
the same kind of database work (bench.bare), measured alternately in the same run.

release-svc, els-svc and dml-svc run as processes, as `make run` starts them; Debian's
`wrk` makes the load. A command's baseline inserts one JSONB row (the same body; for the
64 KiB upload, reading the body and inserting its size); a read's selects one row by key or
a page of 50 of 10,000 rows; the health check's answers without doing anything.

Targets (issue #16): commands >= 0.50 of the bare insert's req/s, reads >= 0.70 of the bare
select's, p99 <= 50 ms at 16 connections, no request failing. Medians of the rounds.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from uuid import uuid4

from bench import api_data, pyspy, wrk
from bench.common import BenchError, Config, Figure, progress
from bench.processes import Server, bare_app, ferry_service, log_tail, replica
from ferry.devauth import DevIssuer

COMMAND_TARGET = 0.50
READ_TARGET = 0.70
P99_TARGET_MS = 50.0
P99_AT = 16
"""The connections at which p99 has a target."""
JSON = {"Content-Type": "application/json"}
ROLES = ("release-manager", "viewer", "els-support", "dml-librarian")
TOKEN_SECONDS = 6 * 3600


@dataclass(frozen=True)
class Scenario:
    """One request: how to load Ferry (prepared afresh for each measurement: releases,
    cases) and the baseline with the same kind of work."""

    name: str
    kind: Literal["command", "read"]
    server: str
    ferry: Callable[[int], Awaitable[wrk.Load]]
    baseline: wrk.Load

    @property
    def target(self) -> float:
        return COMMAND_TARGET if self.kind == "command" else READ_TARGET


@dataclass
class Stack:
    cfg: Config
    servers: dict[str, Server]
    bodies: api_data.Bodies
    headers: dict[str, str]
    release_ids: str
    """A file of ids of releases to read."""
    row_ids: str
    """A file of ids of baseline rows to read."""

    def scenarios(self) -> list[Scenario]:
        b = self.bodies
        release, els = self.servers["release"], self.servers["els"]

        async def constant(load: wrk.Load) -> wrk.Load:
            return load

        def static(load: wrk.Load) -> Callable[[int], Awaitable[wrk.Load]]:
            return lambda _: constant(load)

        async def risk(connections: int) -> wrk.Load:
            lines = await api_data.fresh_releases(release, self.headers, connections)
            ids = b.ids(f"risk-{uuid4().hex[:8]}", lines)
            args = ("PUT", "/releases/{id}/risk", ids, b.risk)
            return wrk.Load("if_match.lua", args, JSON, per_connection=True)

        async def observe(connections: int) -> wrk.Load:
            cases = await api_data.fresh_cases(self.cfg, els, connections)
            ids = b.ids(f"cases-{uuid4().hex[:8]}", cases)
            args = ("POST", "/cases/{id}/observations", "own", ids, b.observation)
            return wrk.Load("template.lua", args, JSON, per_connection=True)

        async def upload(_: int) -> wrk.Load:
            path = f"/media/bench-{uuid4().hex[:8]}-{{t}}/{{n}}"
            headers = {"Content-Type": "application/octet-stream", "Repr-Digest": b.media_digest}
            return wrk.Load("template.lua", ("PUT", path, "-", "-", b.media), headers)

        insert = wrk.Load("static.lua", ("POST", "/rows", b.plan), JSON)
        return [
            Scenario(
                "POST /releases",
                "command",
                "release",
                static(wrk.Load("static.lua", ("POST", "/releases", b.plan), JSON)),
                insert,
            ),
            Scenario(
                "PUT /releases/{id}/risk",
                "command",
                "release",
                risk,
                wrk.Load("static.lua", ("POST", "/rows", b.risk), JSON, per_connection=True),
            ),
            Scenario(
                "POST /cases/{id}/observations",
                "command",
                "els",
                observe,
                wrk.Load("static.lua", ("POST", "/rows", b.observation), JSON, per_connection=True),
            ),
            Scenario(
                "PUT /media/... 64 KiB",
                "command",
                "dml",
                upload,
                wrk.Load(
                    "static.lua",
                    ("PUT", "/rows", b.media),
                    {"Content-Type": "application/octet-stream"},
                ),
            ),
            Scenario(
                "GET /releases/{id}",
                "read",
                "release",
                static(
                    wrk.Load(
                        "template.lua", ("GET", "/releases/{id}", "rotate", self.release_ids, "-")
                    )
                ),
                wrk.Load("template.lua", ("GET", "/rows/{id}", "rotate", self.row_ids, "-")),
            ),
            Scenario(
                "GET /releases?limit=50",
                "read",
                "release",
                static(wrk.Load("static.lua", ("GET", "/releases?limit=50", "-"))),
                wrk.Load("static.lua", ("GET", "/rows?limit=50", "-")),
            ),
            Scenario(
                "GET /healthz",
                "read",
                "release",
                static(wrk.Load("static.lua", ("GET", "/healthz", "-"))),
                wrk.Load("static.lua", ("GET", "/healthz", "-")),
            ),
        ]


Pair = tuple[wrk.Result, wrk.Result]
"""(Ferry, baseline) of one round."""


async def _pair(
    stack: Stack, scenario: Scenario, connections: int, seconds: int, ferry_first: bool
) -> Pair:
    ferry_load = await scenario.ferry(connections)
    ferry, bare = stack.servers[scenario.server], stack.servers["bare"]

    async def measure(server: Server, load: wrk.Load) -> wrk.Result:
        try:
            return await wrk.run(server.url, load, connections, seconds, stack.headers)
        except BenchError as exc:
            raise BenchError(f"{scenario.name}: {exc}; {log_tail(server)}") from exc

    if ferry_first:
        mine = await measure(ferry, ferry_load)
        theirs = await measure(bare, scenario.baseline)
    else:
        theirs = await measure(bare, scenario.baseline)
        mine = await measure(ferry, ferry_load)
    return mine, theirs


async def bench_api(cfg: Config) -> list[Figure]:
    with tempfile.TemporaryDirectory(dir=cfg_state_dir()) as tmp:
        work = Path(tmp)
        issuer = DevIssuer(work / "auth")
        token = issuer.mint("bench", ROLES, ttl=TOKEN_SECONDS)
        headers = {"Authorization": f"Bearer {token}"}
        async with contextlib.AsyncExitStack() as servers:
            running = {
                "release": await servers.enter_async_context(ferry_service(cfg, work, "release")),
                "els": await servers.enter_async_context(ferry_service(cfg, work, "els")),
                "dml": await servers.enter_async_context(ferry_service(cfg, work, "dml")),
                "bare": await servers.enter_async_context(bare_app(cfg, work)),
            }
            progress("api: release-svc, els-svc, dml-svc and the bare app are up")
            return await _measure(cfg, work, running, headers)


def cfg_state_dir() -> str | None:
    """Where the stack keeps its state: the work files go there, not to a small /tmp."""
    return os.environ.get("FERRY_STATE_DIR")


async def _measure(
    cfg: Config, work: Path, servers: dict[str, Server], headers: dict[str, str]
) -> list[Figure]:
    bodies = api_data.Bodies(work / "bodies")
    release = servers["release"]
    count = cfg.api_releases
    progress(f"api: planning {count:,} releases through the API")
    rate = await api_data.seed_releases(release, headers, count)
    listed = await api_data.listed_releases(release, headers)
    if listed != count:
        raise BenchError(f"seeding: {count:,} releases planned, but GET /releases lists {listed:,}")
    progress(f"api: {count:,} releases planned at {rate:,.0f}/s; waiting for the outbox")
    await api_data.outbox_drained(cfg, release)
    row_ids = await api_data.seed_rows(cfg, servers["bare"], count)
    readable = await api_data.fresh_releases(release, headers, 64)
    stack = Stack(
        cfg,
        servers,
        bodies,
        headers,
        bodies.ids("release-ids", [line.split()[0] for line in readable]),
        bodies.ids("row-ids", row_ids),
    )
    scenarios = stack.scenarios()
    progress("api: warming up (1 s of each request on both sides)")
    for scenario in scenarios:
        await _pair(stack, scenario, P99_AT, 1, True)
    if cfg.profile:
        await _profile(stack, scenarios, cfg.api_seconds)
        return []
    results: dict[tuple[str, int], list[Pair]] = {}
    for round_ in range(cfg.api_rounds):
        for connections in cfg.api_connections:
            for scenario in scenarios:
                # Who goes first alternates by round, so that drift favours neither side.
                pair = await _pair(stack, scenario, connections, cfg.api_seconds, round_ % 2 == 0)
                results.setdefault((scenario.name, connections), []).append(pair)
                mine, theirs = pair
                progress(
                    f"api: round {round_ + 1}, {scenario.name}, {connections} conn: "
                    f"{mine.rate:,.0f} req/s p99 {mine.p99_ms:,.1f} ms; bare "
                    f"{theirs.rate:,.0f} req/s p99 {theirs.p99_ms:,.1f} ms"
                )
    figures = [
        figure
        for scenario in scenarios
        for connections in cfg.api_connections
        for figure in _figures(scenario, connections, results[(scenario.name, connections)])
    ]
    return figures + await _workers(stack, work, scenarios)


WORKER_SCENARIOS = ("POST /releases", "GET /releases/{id}")


async def _workers(stack: Stack, work: Path, scenarios: list[Scenario]) -> list[Figure]:
    """release-svc served by 2 worker processes against 1: a replica of the measured
    service (same schema and topics) with `FERRY_WORKERS=2`, alternately, same load."""
    one = stack.servers["release"]
    progress("api: release-svc with 2 workers beside the one with 1")
    figures = []
    async with replica(one, work, workers=2) as two:
        for scenario in (s for s in scenarios if s.name in WORKER_SCENARIOS):
            ratios = []
            for round_ in range(stack.cfg.api_rounds):
                load = await scenario.ferry(P99_AT)
                order = (one, two) if round_ % 2 == 0 else (two, one)
                rates = {}
                for server in order:
                    result = await wrk.run(
                        server.url, load, P99_AT, stack.cfg.api_seconds, stack.headers
                    )
                    rates[server.url] = result.rate
                ratios.append(rates[two.url] / rates[one.url])
                progress(
                    f"api: {scenario.name}, {P99_AT} conn: 1 worker "
                    f"{rates[one.url]:,.0f} req/s, 2 workers {rates[two.url]:,.0f} req/s"
                )
            name = f"{scenario.name}, {P99_AT} conn: 2 workers / 1"
            figures.append(Figure("api", name, statistics.median(ratios), "x"))
    return figures


def _figures(scenario: Scenario, connections: int, pairs: list[Pair]) -> list[Figure]:
    mine = [m for m, _ in pairs]
    theirs = [t for _, t in pairs]
    ratio = statistics.median(m.rate / t.rate for m, t in pairs)
    p99 = statistics.median(m.p99_ms for m in mine)
    failed = sum(m.failed for m in mine)  # 0: wrk.run raises at any failed request
    name = f"{scenario.name}, {connections} conn"
    baseline = "bare insert" if scenario.kind == "command" else "bare select"
    if scenario.name == "GET /healthz":
        baseline = "bare no-op"
    detail = {
        "rounds": [{"ferry": vars(m), "baseline": vars(t)} for m, t in pairs],
        "baseline_p50_ms": statistics.median(t.p50_ms for t in theirs),
        "baseline_p99_ms": statistics.median(t.p99_ms for t in theirs),
        "baseline_failed": sum(t.failed for t in theirs),
    }
    p99_target = connections == P99_AT
    return [
        Figure(
            "api", f"{name}: req/s", statistics.median(m.rate for m in mine), "req/s", detail=detail
        ),
        Figure("api", f"{name}: p50", statistics.median(m.p50_ms for m in mine), "ms"),
        Figure(
            "api",
            f"{name}: p99",
            p99,
            "ms",
            f"<= {P99_TARGET_MS:g} ms" if p99_target else None,
            p99 <= P99_TARGET_MS if p99_target else None,
        ),
        Figure(
            "api", f"{name}: {baseline}, req/s", statistics.median(t.rate for t in theirs), "req/s"
        ),
        Figure(
            "api",
            f"{name}: / {baseline}",
            ratio,
            "x",
            f">= {scenario.target:.2f}",
            ratio >= scenario.target,
        ),
        Figure("api", f"{name}: failed", failed, "requests", "= 0", failed == 0),
    ]


async def _profile(stack: Stack, scenarios: list[Scenario], seconds: int) -> None:
    """Each request's load on its service alone, sampled by py-spy: where the time goes."""
    keep = Path(cfg_state_dir() or ".")
    for scenario in scenarios:
        server = stack.servers[scenario.server]
        load = await scenario.ferry(P99_AT)
        out = keep / f"profile-{scenario.name.replace('/', '_').replace(' ', '')}.txt"
        async with pyspy.sampling(server.process.pid, out):
            result = await wrk.run(server.url, load, P99_AT, seconds, stack.headers)
        progress(
            f"api: {scenario.name} on {server.name}, {result.rate:,.0f} req/s while sampled; "
            f"the samples are in {out}\n{pyspy.summary(out)}"
        )
