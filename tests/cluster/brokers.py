"""The local cluster's brokers for tests: which one leads a topic, killing and restarting
them (deploy/local/kafka.sh), and a consumer group reading a topic as it grows."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections import Counter
from contextlib import suppress

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition

from ferry.envelope import Envelope
from ferry.kafka_client import KafkaSettings, uninterrupted
from tests.support.infra import REPO


def kafka_sh(action: str, node: int) -> None:
    """`deploy/local/kafka.sh kill|start-node NODE` on the stack the tests run against
    (with-stack.sh exported its ports and state folder)."""
    env = {**os.environ, "FERRY_FRESH": "0"}
    subprocess.run(
        [str(REPO / "deploy/local/kafka.sh"), action, str(node)], check=True, env=env, timeout=120
    )


async def leaders(kafka: KafkaSettings, topic: str) -> Counter[int]:
    """How many of `topic`'s partitions each broker (node id) leads."""
    client = AIOKafkaClient(**kafka.kafka_options())
    try:
        await uninterrupted(client.bootstrap())
        client.add_topic(topic)
        await client.force_metadata_update()
        partitions = client.cluster.partitions_for_topic(topic) or set()
        found = (client.cluster.leader_for_partition(TopicPartition(topic, p)) for p in partitions)
        return Counter(leader for leader in found if leader is not None and leader >= 0)
    finally:
        await uninterrupted(client.close())


class Follower:
    """A consumer group reading `topic` (committed records only) in the background."""

    def __init__(self, kafka: KafkaSettings, topic: str, group: str) -> None:
        self.envelopes: list[Envelope] = []
        self._consumer = AIOKafkaConsumer(
            topic,
            **kafka.consumer_options(),
            group_id=group,
            auto_offset_reset="earliest",
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await uninterrupted(self._consumer.start())
        self._task = asyncio.create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                self.envelopes.extend(Envelope.from_json(r.value) for r in records)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
