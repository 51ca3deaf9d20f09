"""Two replicas of a service side by side: nothing is published or applied twice."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.db import Database
from ferry.devports import free_port
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic, serving, settings

RELEASES = 30


async def count(s: DmlSettings | ReleaseSettings, sql: str) -> int:
    db = Database(s.database_url, s.db_schema, "probe")
    try:
        async with db.unit_of_work() as uow:
            return int(await uow.fetchval(sql.format(schema=f'"{s.db_schema}"')))
    finally:
        await db.dispose()


async def test_two_replicas_of_each_service_publish_and_apply_every_event_once(
    infra: Infra, topic_prefix: str
) -> None:
    release = settings(ReleaseSettings, infra, topic_prefix)
    dml = settings(DmlSettings, infra, topic_prefix)
    rita = infra.issuer.bearer("rita", "release-manager")
    async with AsyncExitStack() as stack:
        # Started together: their migrations race too, and must not clash.
        apis = await asyncio.gather(
            *(
                stack.enter_async_context(
                    serving(release_spec(release.model_copy(update={"port": free_port()})), rita)
                )
                for _ in range(2)
            ),
            *(
                stack.enter_async_context(
                    serving(dml_spec(dml.model_copy(update={"port": free_port()})))
                )
                for _ in range(2)
            ),
        )
        plans = [
            apis[n % 2].post(
                "/releases",
                json={
                    "name": f"Release {n}",
                    "version": "1.0",
                    "planned_start": "2027-03-01",
                    "planned_end": "2027-03-02",
                },
            )
            for n in range(RELEASES)
        ]
        assert {answer.status_code for answer in await asyncio.gather(*plans)} == {201}

        async def all_opened() -> bool:
            opened = await count(dml, "SELECT count(*) FROM {schema}.events")
            return opened >= RELEASES

        await eventually(all_opened, timeout=60, what="every library entry")

    planned = await read_topic(infra.kafka, release.topic("release.events"), expect=RELEASES)
    opened = await read_topic(infra.kafka, dml.topic("dml.events"), expect=RELEASES)
    assert len(planned) == len({e.id for e in planned}) == RELEASES  # one relay at a time
    assert len(opened) == len({e.subject for e in opened}) == RELEASES  # one consumer each
    assert await count(dml, "SELECT count(*) FROM {schema}.events") == RELEASES
    assert await count(dml, "SELECT count(*) FROM {schema}.inbox") == RELEASES
