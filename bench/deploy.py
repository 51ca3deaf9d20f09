"""deploy-svc's fan-out: one deployment to N `local` targets, run by the executor against
PostgreSQL, for N = 50 and N = 500. The cost per target at 500 is the figure, as a ratio of
the cost per target at 50 measured in the same run: linear growth keeps it near 1.

The media come from a local folder instead of dml-svc: fetching happens once per
deployment, whatever N, so it would only blur the per-target cost measured here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import asyncpg

from bench.common import Config, Figure, progress
from deploy_svc.adapters.views import PostgresViews
from deploy_svc.domain.deployment import PlanDeployment
from deploy_svc.domain.facts import ReleaseFacts, Window
from deploy_svc.drivers.base import Artifacts
from deploy_svc.drivers.limits import LocalLimits
from deploy_svc.drivers.local import LocalDriver
from deploy_svc.handlers import deployments, environments
from deploy_svc.jobs.executor import Executor
from deploy_svc.main import MIGRATIONS
from deploy_svc.projections import release_facts
from ferry import migrations
from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.deploy import EnvironmentClass, Strategy, TargetSpec
from ferry.grants import Acting, Grant
from ferry.manifest import SignedManifest

SIZES = (50, 500)
TARGET = 1.5
"""Per-target cost at 500 over that at 50: above this, something grows worse than linearly."""
META = Meta(actor="bench", correlation_id="bench-deploy")
OPERATOR = Acting(frozenset({Grant("deployer")}), frozenset({"deployer"}))
"""The benchmark deploys as a deployer of every team."""


@contextlib.asynccontextmanager
async def _deploy_schema(cfg: Config) -> AsyncIterator[Database]:
    schema = f"bench_deploy_{uuid4().hex[:10]}"
    try:
        await asyncio.to_thread(migrations.upgrade, cfg.database_url, schema, MIGRATIONS)
        db = Database(cfg.database_url, schema, source="bench")
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


async def _one(cfg: Config, work: Path, n: int) -> float:
    """Seconds for the executor to deploy a release to `n` targets, big bang."""
    async with _deploy_schema(cfg) as db:
        release_id, now = uuid4(), datetime.now(UTC)
        targets = [
            TargetSpec(name=f"t{i:04d}", driver="local", settings={"path": str(work / f"{n}-{i}")})
            for i in range(n)
        ]
        async with db.unit_of_work() as uow:
            await release_facts.planned(uow, release_id, "REL-BENCH", "1.0.0", None)
            window = Window(now - timedelta(hours=1), now + timedelta(hours=1))
            await release_facts.windows(uow, release_id, {"bench": window}, [])
            signed = SignedManifest("{}", "", "")
            await release_facts.available(uow, release_id, signed, [("app.bin", "1.0.0")])
            checks = {"local": LocalDriver(LocalLimits(roots=(work,))).check}
            await environments.define_environment(
                uow, "bench", EnvironmentClass.STAGING, targets, checks, None, META, OPERATOR
            )
            plan = PlanDeployment(
                uuid4(), release_id, "bench", [], Strategy.BIG_BANG, [], [], 1, 0, now, "bench"
            )
            deployment = await deployments.plan_deployment(
                uow, PostgresViews(uow), plan, META, OPERATOR
            )
            await uow.commit()
        media = work / "app.bin"
        artifacts = Artifacts(release_id, "1.0.0", {"app.bin": media})

        async def fetch(_: ReleaseFacts, __: int | None) -> Artifacts:
            return artifacts

        executor = Executor(
            {"local": LocalDriver(LocalLimits(roots=(work,)))}, fetch, lease_seconds=60
        )
        started = time.perf_counter()
        claimed = await executor._claim(db, [])
        assert claimed == deployment.id
        await executor.drive(db, deployment.id)
        elapsed = time.perf_counter() - started
        async with db.unit_of_work() as uow:
            done = await deployments.get_deployment(uow, deployment.id)
        if str(done.state) != "completed":
            raise RuntimeError(f"the bench deployment ended {done.state}: {done.reason}")
        return elapsed


async def bench_deploy(cfg: Config) -> list[Figure]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("FERRY_STATE_DIR")) as tmp:
        work = Path(tmp)
        (work / "app.bin").write_bytes(os.urandom(64 * 1024))
        seconds: dict[int, float] = {}
        for n in SIZES:
            progress(f"deploy: one deployment to {n} local targets")
            seconds[n] = await _one(cfg, work, n)
            progress(f"deploy: {n} targets in {seconds[n]:.2f} s")
    small, large = SIZES
    ratio = (seconds[large] / large) / (seconds[small] / small)
    return [
        Figure("deploy", f"{small} local targets, wall time", seconds[small] * 1000, "ms"),
        Figure("deploy", f"{large} local targets, wall time", seconds[large] * 1000, "ms"),
        Figure(
            "deploy",
            f"per-target cost at {large} / at {small}",
            ratio,
            "x",
            f"<= {TARGET}",
            ratio <= TARGET,
        ),
    ]
