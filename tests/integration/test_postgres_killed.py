"""PostgreSQL killed (an immediate shutdown, as a crash) and restarted in the middle of a
burst touching all four services: every answer is a success or a `503` with `Retry-After`,
never a `500`; every release acknowledged is stored and reaches its topic; the services'
workers carry on once the database is back (issue #20 counted three 500s)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from functools import partial

import httpx
import pytest

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from els_svc.config import Settings as ElsSettings
from els_svc.main import spec as els_spec
from ferry.service import ServiceSpec
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic, serving, settings

ROUNDS = 60
"""Rounds of five requests (one per route below), sent eight at a time."""
DOWN_FOR = 2.0


def plan(i: int) -> dict[str, str]:
    return {
        "name": f"Crash {i}",
        "version": f"2.{i}.0",
        "planned_start": "2027-02-01",
        "planned_end": "2027-02-05",
    }


@pytest.mark.exclusive
async def test_postgres_killed_mid_burst_answers_503_never_500_and_loses_nothing(
    infra: Infra, topic_prefix: str
) -> None:
    reader = infra.issuer.bearer("ada", "auditor")
    rita = infra.issuer.bearer("rita", "release-manager")
    async with AsyncExitStack() as stack:

        async def served(spec: ServiceSpec) -> httpx.AsyncClient:
            return await stack.enter_async_context(serving(spec, reader))

        release = await served(release_spec(settings(ReleaseSettings, infra, topic_prefix)))
        dml = await served(dml_spec(settings(DmlSettings, infra, topic_prefix)))
        deploy = await served(deploy_spec(settings(DeploySettings, infra, topic_prefix)))
        els = await served(els_spec(settings(ElsSettings, infra, topic_prefix)))
        requests: list[Callable[[int], Awaitable[httpx.Response]]] = [
            # Through the idempotency table, the event store and the outbox.
            lambda i: release.post(
                "/releases", json=plan(i), headers={**rita, "Idempotency-Key": f"crash-{i}"}
            ),
            lambda _: release.get("/releases", params={"limit": 20}),
            lambda _: dml.get("/media"),
            lambda _: deploy.get("/deployments"),
            lambda _: els.get("/cases"),
        ]
        answers: list[tuple[int, httpx.Response]] = []
        gate = asyncio.Semaphore(8)

        async def one(i: int, request: Callable[[int], Awaitable[httpx.Response]]) -> None:
            async with gate:
                answers.append((i, await request(i)))

        async def a_third_answered() -> bool:
            return len(answers) >= ROUNDS * len(requests) // 3

        async def crash() -> None:
            # Then the rest of the burst meets the outage and the return.
            await eventually(a_third_answered, what="a third of the burst answered")
            await asyncio.to_thread(infra.kill_postgres)
            await asyncio.sleep(DOWN_FOR)
            await asyncio.to_thread(infra.start_postgres)

        crashing = asyncio.create_task(crash())
        try:
            await asyncio.gather(*(one(i, request) for i in range(ROUNDS) for request in requests))
        finally:
            await crashing

        statuses = Counter(answer.status_code for _, answer in answers)
        assert set(statuses) <= {200, 201, 503}, statuses
        assert statuses[503] > 0, f"no request met the outage: {statuses}"
        for _, answer in answers:
            if answer.status_code == 503:
                assert answer.headers["Retry-After"]
                assert answer.headers["content-type"] == "application/problem+json"

        # Each service answers again, and every acknowledged plan is stored...
        for api in (release, dml, deploy, els):
            await eventually(partial(_ok, api), what="the service answering again")
        planned = {answer.json()["id"] for _, answer in answers if answer.status_code == 201}
        assert planned, statuses
        for release_id in planned:
            assert (await release.get(f"/releases/{release_id}")).status_code == 200

        # ...and on its topic, once: the relay carried on after the crash.
        topic = f"{topic_prefix}release.events"
        on_topic = await read_topic(infra.kafka, topic, expect=len(planned))
        ids = Counter(
            envelope.subject for envelope in on_topic if envelope.type == "ReleasePlanned"
        )
        assert set(ids) >= planned
        assert max(ids.values()) == 1, ids


async def _ok(api: httpx.AsyncClient) -> bool:
    return (await api.get("/readyz")).status_code == 200
