"""Ferry's topics are the audit log: they exist once and keep everything forever."""

from __future__ import annotations

import uuid

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from ferry.kafka_admin import ensure_topics
from ferry.kafka_client import KafkaSettings
from tests.support.infra import Infra


async def retention(kafka: KafkaSettings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(**kafka.kafka_options())
    await admin.start()
    try:
        [reply] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    finally:
        await admin.close()
    [(_code, _message, _type, _name, entries)] = reply.resources
    return {name: value for name, value, *_ in entries if name.startswith("retention.")}


async def test_topics_are_created_once_with_infinite_retention(infra: Infra) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}-release.events"
    assert await ensure_topics(infra.kafka, [topic]) == [topic]
    assert await ensure_topics(infra.kafka, [topic]) == []  # idempotent
    assert await retention(infra.kafka, topic) == {
        "retention.ms": "-1",
        "retention.bytes": "-1",
    }
