"""Where a secret must never end up: any service's event store or any of Ferry's topics.

Events are kept for ever, so an attack that leaked a secret into one would leak it for good.
"""

from __future__ import annotations

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from tests.support.infra import Infra


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def stored_events(infra: Infra, schema: str) -> list[str]:
    """Every stored event of `schema` (data and metadata), as text."""
    connection = await asyncpg.connect(_plain(infra.database_url))
    try:
        rows = await connection.fetch(
            f'SELECT data::text || metadata::text AS text FROM "{schema}".events'
        )
    finally:
        await connection.close()
    return [row["text"] for row in rows]


async def published_events(infra: Infra, topic_prefix: str) -> list[str]:
    """Every record on the test's topics, as text; read up to each partition's end."""
    topics = [topic_prefix + topic for topic in SERVICE_TOPICS + INBOUND_TOPICS]
    consumer = AIOKafkaConsumer(**infra.kafka.kafka_options(), enable_auto_commit=False)
    await consumer.start()
    found: list[str] = []
    try:
        # The consumer's `topics()` fetches this but keeps it from `partitions_for_topic`.
        cluster = await consumer._client.fetch_all_metadata()
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        # The position, not the last record's offset: a transaction's commit marker takes
        # an offset too and is never handed out, so it often is the partition's last.
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for records in batch.values():
                found.extend(r.value.decode(errors="replace") for r in records if r.value)
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    return found


async def assert_leaked_nowhere(
    infra: Infra, topic_prefix: str, schemas: list[str], secrets: list[str]
) -> int:
    """Fail if any of `secrets` appears in an event of `schemas` or on the test's topics;
    the number of events looked at, so a test can show it looked at some."""
    texts = await published_events(infra, topic_prefix)
    for schema in schemas:
        texts += await stored_events(infra, schema)
    for secret in secrets:
        assert secret, "an empty secret would match everything"
        leaked = [text[:200] for text in texts if secret in text]
        assert not leaked, f"secret {secret[:4]}… found in {len(leaked)} event(s): {leaked[:2]}"
    return len(texts)
