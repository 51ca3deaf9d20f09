"""The event feed's reading of Kafka: a consumer with its partitions assigned by hand and no
consumer group, so nothing is committed: a client keeps its place (the cursor each message
carries) and readers cost the brokers no group rebalances. One such reader per process
serves every live stream (`feed_hub`); a client resuming from an older place catches up
with one of its own first."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from ferry.feed import Positions
from ferry.kafka_client import KafkaSettings, uninterrupted

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Record:
    """One record read: where it was (topic without the prefix), its bytes and its CloudEvent
    (None when it is none: no client could use it)."""

    topic: str
    partition: int
    offset: int
    value: bytes
    event: dict[str, Any] | None


class KafkaReader:
    """Ferry's topics read from a start position; `close` it after."""

    def __init__(
        self, consumer: AIOKafkaConsumer, topics: Mapping[str, str], *, rescan: float = 30.0
    ) -> None:
        self._consumer = consumer
        self._topics = dict(topics)
        self.positions: Positions = {}
        """Per topic, the next offset to read of each partition: past every record returned."""
        self._rescan = rescan
        self._scanned_at = time.monotonic()

    @classmethod
    async def open(
        cls,
        kafka: KafkaSettings,
        topics: Mapping[str, str],
        *,
        client_id: str,
        start: Positions | None,
        from_beginning: bool,
    ) -> KafkaReader:
        """A reader of `topics` (Kafka name → name without the prefix) from the cursor's
        `start`, else from their beginning or their end. When this returns the start is
        fixed: an event published afterwards is read."""
        consumer = AIOKafkaConsumer(
            **kafka.consumer_options(),
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            # Only when a position is gone (a topic recreated): read all rather than skip.
            auto_offset_reset="earliest",
        )
        reader = cls(consumer, topics)

        async def opening() -> None:
            await consumer.start()
            # Connects to the brokers: a connection cancelled in its handshake is forgotten.
            await reader._assign(start or {}, at_end=start is None and not from_beginning)

        try:
            await uninterrupted(opening())
        except BaseException:
            await uninterrupted(consumer.stop())
            raise
        return reader

    async def _assign(self, start: Mapping[str, Sequence[int]], *, at_end: bool) -> None:
        """Read every partition of the topics: known ones from their positions, new ones
        (not in `start`) from their beginning, or end."""
        partitions = await self._partitions()

        def known(tp: TopicPartition) -> int | None:
            offsets = start.get(self._topics[tp.topic], ())
            return offsets[tp.partition] if tp.partition < len(offsets) else None

        new = [tp for tp in partitions if known(tp) is None]
        consumer = self._consumer
        edges = await (consumer.end_offsets if at_end else consumer.beginning_offsets)(new)
        consumer.assign(partitions)
        for tp in partitions:
            offset = known(tp)
            offset = edges[tp] if offset is None else offset
            offsets = self.positions.setdefault(self._topics[tp.topic], [])
            offsets.extend([0] * (tp.partition + 1 - len(offsets)))
            offsets[tp.partition] = offset
            consumer.seek(tp, offset)

    async def _partitions(self) -> list[TopicPartition]:
        """Every partition of the topics (a topic not there yet: none)."""
        # The consumer's own `topics()` fetches this but keeps it from `partitions_for_topic`.
        cluster = await self._consumer._client.fetch_all_metadata()
        return [
            TopicPartition(topic, partition)
            for topic in self._topics
            for partition in sorted(cluster.partitions_for_topic(topic) or ())
        ]

    async def end_offsets(self) -> Positions:
        """Per topic, the offset the next record published to each partition will have."""
        ends = await self._consumer.end_offsets(await self._partitions())
        positions: Positions = {}
        for tp, offset in sorted(ends.items()):
            offsets = positions.setdefault(self._topics[tp.topic], [])
            offsets.extend([0] * (tp.partition + 1 - len(offsets)))
            offsets[tp.partition] = offset
        return positions

    async def _follow_new_partitions(self) -> None:
        # Read a partition added since (or a topic created since) from its beginning: all of
        # it is newer than what the client has. Re-assigning forgets the fetch positions, so
        # every partition is sought back to the reader's own.
        partitions = await self._partitions()
        if any(
            tp.partition >= len(self.positions.get(self._topics[tp.topic], ())) for tp in partitions
        ):
            await self._assign({u: list(o) for u, o in self.positions.items()}, at_end=False)

    async def read(self, timeout: float) -> list[Record]:
        """The records that came within `timeout` seconds (none: an empty list); `positions`
        moves past them. Raises `KafkaError` when Kafka is lost."""
        if time.monotonic() - self._scanned_at >= self._rescan:
            self._scanned_at = time.monotonic()
            await self._follow_new_partitions()
        batches = await self._consumer.getmany(timeout_ms=int(timeout * 1000))
        records = []
        for tp, batch in batches.items():
            topic = self._topics[tp.topic]
            for record in batch:
                event = _event(record.value)
                if event is None:
                    # Not a CloudEvent: no client could use it. Skipped, loudly, as consumers do.
                    log.error("event feed: skipping unreadable record %s@%s", tp, record.offset)
                value = record.value or b""
                records.append(Record(topic, tp.partition, record.offset, value, event))
            if batch:
                self.positions[topic][tp.partition] = batch[-1].offset + 1
        return records

    async def close(self) -> None:
        """Stop the consumer: its fetcher and connections end with it, even when a stream
        cancelled at shutdown is what closes it."""
        await uninterrupted(self._consumer.stop())


def _event(value: bytes | None) -> dict[str, Any] | None:
    try:
        event = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return None
    return event
