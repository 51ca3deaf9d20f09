"""The consumer-lag gauge follows the partitions a member holds: a partition a rebalance
moved away stops being reported by this member, else its last figure would stay in every
sum over the group (and the FerryConsumerLag alert with it)."""

from __future__ import annotations

from typing import Any

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from ferry.kafka import Consumer
from ferry.kafka_client import KafkaSettings

GROUP = "lag-test-group"


class Member:
    """What `_record_lag` reads of an aiokafka consumer: its partitions and offsets."""

    def __init__(self, held: dict[TopicPartition, tuple[int, int]]) -> None:
        self.held = held  # partition → (high watermark, position)

    def assignment(self) -> set[TopicPartition]:
        return set(self.held)

    def highwater(self, tp: TopicPartition) -> int:
        return self.held[tp][0]

    async def position(self, tp: TopicPartition) -> int:
        return self.held[tp][1]


def lag(topic: str, partition: int) -> float | None:
    labels = {"group": GROUP, "topic": topic, "partition": str(partition)}
    return REGISTRY.get_sample_value("ferry_consumer_lag_records", labels)


async def test_a_partition_moved_away_is_no_longer_reported() -> None:
    async def handle(*_: Any) -> None:
        pass

    consumer = Consumer(KafkaSettings(), GROUP, ["t"], handle)
    first, second = TopicPartition("t", 0), TopicPartition("t", 1)
    await consumer._record_lag(Member({first: (10, 4), second: (7, 7)}))  # type: ignore[arg-type]
    assert (lag("t", 0), lag("t", 1)) == (6, 0)

    await consumer._record_lag(Member({second: (9, 7)}))  # type: ignore[arg-type]
    assert (lag("t", 0), lag("t", 1)) == (None, 2)
