"""Topic administration: Ferry's topics exist with the retention an audit log needs."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from aiokafka import AIOKafkaClient
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from ferry.kafka_client import KafkaSettings, uninterrupted

log = logging.getLogger(__name__)

# The topics are the audit log: nothing is ever deleted by age or size.
AUDIT_LOG_CONFIG = {"retention.ms": "-1", "retention.bytes": "-1"}


class TopicSetupError(RuntimeError):
    """A topic could not be created or configured."""


async def wait_ready(kafka: KafkaSettings, timeout: float, brokers: int = 1) -> bool:
    """Whether the cluster listed `brokers` brokers in a metadata reply within `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        client = AIOKafkaClient(**kafka.kafka_options(), request_timeout_ms=5000)
        try:
            await uninterrupted(client.bootstrap())
            if len(client.cluster.brokers()) >= brokers:
                return True
        except (KafkaError, OSError):
            pass
        finally:
            await uninterrupted(client.close())
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.5)


async def ensure_topics(
    kafka: KafkaSettings,
    names: Sequence[str],
    *,
    partitions: int = 3,
    replication: int = 1,
    min_insync: int = 1,
) -> list[str]:
    """Create the missing topics and (re)apply infinite retention and `min_insync` to all;
    the names created. A write to a topic is acknowledged once `min_insync` of its
    `replication` replicas have it (so 3 and 2 survive losing a broker)."""
    config = {**AUDIT_LOG_CONFIG, "min.insync.replicas": str(min_insync)}
    admin = AIOKafkaAdminClient(**kafka.kafka_options(), request_timeout_ms=30000)
    created: list[str] = []
    try:
        await uninterrupted(admin.start())
        reply = await admin.create_topics(
            [NewTopic(n, partitions, replication, topic_configs=config) for n in names]
        )
        for topic, code, *rest in reply.topic_errors:
            if code == 0:
                created.append(topic)
            elif for_code(code) is not TopicAlreadyExistsError:
                raise TopicSetupError(f"cannot create {topic}: {for_code(code).__name__} {rest}")
        # Topics made earlier (or by hand) may lack the retention the audit log needs.
        # (AlterConfigs replaces a topic's whole configuration: it must carry every setting.)
        for altered in await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, n, config) for n in names]
        ):
            for code, message, _type, name in altered.resources:
                if code != 0:
                    raise TopicSetupError(f"cannot set retention on {name}: {message}")
    finally:
        await uninterrupted(admin.close())
    return created
