"""PostgreSQL cutting a service's connections under load (an administrator terminating them,
as a restart does to every client): each request answers `503` with `Retry-After`, never a
`500`, and every release acknowledged with `201` is there afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from functools import partial

import asyncpg

from ferry.db import Database, driver_dsn
from release_svc.config import Settings
from release_svc.main import spec
from tests.support.infra import Infra
from tests.support.services import eventually, serving, settings

BURST = 120


def plan(i: int) -> dict[str, str]:
    return {
        "name": f"Outage {i}",
        "version": f"1.{i}.0",
        "planned_start": "2027-01-04",
        "planned_end": "2027-01-08",
    }


async def cut_connections(raw_url: str, application_name: str, stop: asyncio.Event) -> int:
    """Terminate the service's backends again and again until `stop`; how many were cut."""
    admin = await asyncpg.connect(raw_url)
    cut = 0
    try:
        while not stop.is_set():
            cut += int(
                await admin.fetchval(
                    "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) "
                    "FROM pg_stat_activity WHERE application_name = $1",
                    application_name,
                )
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.02)
    finally:
        await admin.close()
    return cut


async def test_connections_cut_mid_burst_answer_503_and_lose_nothing_acknowledged(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(Settings, infra, topic_prefix)
    name = Database(s.database_url, s.db_schema, spec(s).name).application_name
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(spec(s), headers=rita) as api:
        first = await api.post("/releases", json=plan(0))
        assert first.status_code == 201, first.text
        known = first.headers["Location"]

        async def one(i: int) -> tuple[int, str | None]:
            if i % 3 == 0:
                key = {"Idempotency-Key": f"outage-{i}"}  # through the idempotency table too
                answer = await api.post("/releases", json=plan(i + 1), headers=key)
                return answer.status_code, answer.headers.get("Location")
            if i % 3 == 1:
                answer = await api.get(known)
            else:
                answer = await api.get("/releases", params={"limit": 20})
            if answer.status_code == 503:
                assert answer.headers["Retry-After"]
                assert answer.headers["content-type"] == "application/problem+json"
            return answer.status_code, None

        stop = asyncio.Event()
        cutter = asyncio.create_task(cut_connections(driver_dsn(infra.database_url), name, stop))
        try:
            answers = await asyncio.gather(*(one(i) for i in range(BURST)))
        finally:
            stop.set()
            cut = await cutter
        statuses = Counter(status for status, _ in answers)
        assert cut > 0, "no connection was cut: the test proved nothing"
        assert set(statuses) <= {200, 201, 503}, statuses
        assert statuses[503] > 0, statuses
        # Every plan acknowledged is stored, readable once the database is back (a
        # connection cut at the burst's very end may still answer one read 503).
        for status, location in answers:
            if status == 201:
                assert location is not None

                async def readable(location: str) -> bool:
                    answer = await api.get(location)
                    assert answer.status_code in (200, 503), answer.text
                    return answer.status_code == 200

                await eventually(
                    partial(readable, location), timeout=10, what=f"{location} readable"
                )
