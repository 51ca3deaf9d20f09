"""Reading Ferry's topics whole, for the audit: from the beginning to the end offsets at
the start, with no consumer group (nothing is committed, no one else is disturbed)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka import AIOKafkaClient, AIOKafkaConsumer, TopicPartition

from ferry.envelope import Envelope
from ferry.kafka_client import KafkaSettings, uninterrupted


@dataclass(frozen=True)
class Record:
    """One record of a topic: the envelope it carries, where it was."""

    partition: int
    offset: int
    envelope: Envelope


@dataclass
class Topic:
    """What a topic held when it was read; `exists` False for a topic the broker lacks."""

    name: str
    exists: bool = True
    records: list[Record] = field(default_factory=list)
    unreadable: list[tuple[int, int, str]] = field(default_factory=list)
    """(partition, offset, why) of each record that is no CloudEvent."""


async def read_topics(
    kafka: KafkaSettings, names: list[str], *, last: int | None = None
) -> dict[str, Topic]:
    """Each of `names` read from its beginning (or only the `last` records of each
    partition) to the end offsets it had when this started."""
    found = await _partitions(kafka, names)
    topics = {name: Topic(name, exists=found[name] is not None) for name in names}
    partitions = [TopicPartition(name, p) for name in names for p in sorted(found[name] or ())]
    if not partitions:
        return topics
    consumer = AIOKafkaConsumer(**kafka.consumer_options(), enable_auto_commit=False, group_id=None)
    try:
        await uninterrupted(consumer.start())
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        # Explicit offsets: seek_to_beginning races the reset that assign() starts.
        for tp, offset in (await consumer.beginning_offsets(partitions)).items():
            consumer.seek(tp, offset if last is None else max(offset, ends[tp] - last))
        todo = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while todo:
            batches = await consumer.getmany(*todo, timeout_ms=1000)
            for tp, batch in batches.items():
                for record in batch:
                    if record.offset < ends[tp]:
                        _keep(topics[tp.topic], tp.partition, record.offset, record.value)
            todo = {tp for tp in todo if await consumer.position(tp) < ends[tp]}
        return topics
    finally:
        await uninterrupted(consumer.stop())


async def _partitions(kafka: KafkaSettings, names: list[str]) -> dict[str, set[int] | None]:
    """The partitions of each topic of `names`; None for one the cluster does not have."""
    client = AIOKafkaClient(**kafka.kafka_options())
    try:
        await uninterrupted(client.bootstrap())
        cluster = await client.fetch_all_metadata()
        return {name: cluster.partitions_for_topic(name) for name in names}
    finally:
        await uninterrupted(client.close())


def _keep(topic: Topic, partition: int, offset: int, value: bytes | None) -> None:
    try:
        envelope = Envelope.from_json(value or b"")
    except ValueError as exc:
        topic.unreadable.append((partition, offset, str(exc).splitlines()[0]))
        return
    topic.records.append(Record(partition, offset, envelope))
