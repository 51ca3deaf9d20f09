"""A broker killed (`kill -9`) in the middle of a burst: the one leading release.events. Every
request is acknowledged, every acknowledged release's event is on the topic exactly once,
and a consumer group reading the topic carries on past the kill (issue #20)."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.cluster.brokers import Follower, kafka_sh, leaders
from tests.support.infra import Infra
from tests.support.services import eventually, start_service, stop_all, until_ready

EACH_SIDE = 60
"""Releases acknowledged before the broker is killed, and at least as many after."""
AT_ONCE = 8


def plan(i: int) -> dict[str, str]:
    return {
        "name": f"Failover {i}",
        "version": f"3.{i}.0",
        "planned_start": "2027-03-01",
        "planned_end": "2027-03-05",
    }


@pytest.mark.timeout(300)
async def test_leader_killed_mid_burst_loses_and_repeats_nothing(
    cluster: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    topic = f"{topic_prefix}release.events"
    service, url = start_service("release", cluster, topic_prefix, tmp_path / "release-svc.log")
    follower = Follower(cluster.kafka, topic, f"cluster-test-{uuid.uuid4().hex[:8]}")
    killed: list[int] = []  # the node killed, to start again whatever happens
    rita = cluster.issuer.bearer("rita", "release-manager")
    try:
        async with httpx.AsyncClient(base_url=url, headers=rita, timeout=60) as api:
            await until_ready(api)
            await follower.start()
            acknowledged: list[str] = []
            statuses: Counter[int] = Counter()
            numbers = iter(range(10**6))
            stop = asyncio.Event()

            async def client() -> None:
                # Each client one request at a time, until told to stop.
                while not stop.is_set():
                    i = next(numbers)
                    key = {"Idempotency-Key": f"failover-{i}"}
                    answer = await api.post("/releases", json=plan(i), headers=key)
                    statuses[answer.status_code] += 1
                    if answer.status_code == 201:
                        acknowledged.append(answer.json()["id"])

            async def at_least(count: int) -> bool:
                return len(acknowledged) >= count

            clients = [asyncio.create_task(client()) for _ in range(AT_ONCE)]
            try:
                await eventually(lambda: at_least(EACH_SIDE), what="the burst under way")
                # The broker leading most of the topic's partitions (3 partitions, 3
                # brokers: usually one each).
                node = (await leaders(cluster.kafka, topic)).most_common(1)[0][0]
                await asyncio.to_thread(kafka_sh, "kill", node)
                killed.append(node)
                after_kill = len(acknowledged) + EACH_SIDE
                await eventually(lambda: at_least(after_kill), what="the burst after the kill")
            finally:
                stop.set()
                await asyncio.gather(*clients)

            async def led_by_the_others() -> bool:
                return killed[0] not in await leaders(cluster.kafka, topic)

            await eventually(led_by_the_others, what="the others to lead its partitions")

        assert set(statuses) == {201}, statuses

        # The consumer group moved on: it has every release, its coordinator and the
        # partitions' leaders having moved off the killed broker.
        async def all_followed() -> bool:
            seen = {e.subject for e in follower.envelopes if e.type == "ReleasePlanned"}
            return seen >= set(acknowledged)

        await eventually(all_followed, timeout=90, what="the consumer group to read every release")

        # Exactly once: read the whole topic afresh (committed records only).
        fresh = Follower(cluster.kafka, topic, f"cluster-check-{uuid.uuid4().hex[:8]}")
        await fresh.start()
        try:
            await eventually(
                lambda: _at_least(fresh, len(acknowledged)), timeout=60, what="the topic afresh"
            )
            await asyncio.sleep(2)  # anything repeated would arrive with the rest
        finally:
            await fresh.stop()
        planned = Counter(e.subject for e in fresh.envelopes if e.type == "ReleasePlanned")
        assert set(planned) == set(acknowledged)
        assert max(planned.values()) == 1, planned.most_common(3)
        ids = Counter(e.id for e in fresh.envelopes)
        assert max(ids.values()) == 1
    finally:
        # The broker first: the service and the consumer group then leave a whole cluster.
        for node in killed:
            await asyncio.to_thread(kafka_sh, "start-node", node)
        stop_all([service])
        await follower.stop()


async def _at_least(follower: Follower, count: int) -> bool:
    return len(follower.envelopes) >= count
