"""The event feed's reading of Kafka: one consumer per client, its partitions assigned by
hand and no consumer group, so nothing is committed: the client keeps its place (the cursor
each message carries) and a thousand dashboards cost the brokers no group rebalances."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from ferry.feed import Filter, Positions, encode_cursor, sse_message, sse_position

log = logging.getLogger(__name__)


class EventStream:
    """Ferry's topics read from a start position, as Server-Sent Events; `close` it after."""

    def __init__(
        self, consumer: AIOKafkaConsumer, topics: Mapping[str, str], positions: Positions
    ) -> None:
        self._consumer = consumer
        self._topics = dict(topics)
        self._positions = positions

    @classmethod
    async def open(
        cls,
        bootstrap_servers: str,
        topics: Mapping[str, str],
        *,
        client_id: str,
        start: Positions | None,
        from_beginning: bool,
    ) -> EventStream:
        """A stream of `topics` (Kafka name → name without the prefix) from the cursor's
        `start`, else from their beginning or their end. When this returns the start is
        fixed: an event published afterwards is in the stream."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            # Only when a position is gone (a topic recreated): read all rather than skip.
            auto_offset_reset="earliest",
        )
        stream = cls(consumer, topics, {})
        try:
            await consumer.start()
            if start is None:
                await stream._assign({}, at_end=not from_beginning)
            else:
                await stream._assign(start, at_end=False)
        except BaseException:
            await consumer.stop()
            raise
        return stream

    async def _assign(self, start: Mapping[str, Sequence[int]], *, at_end: bool) -> None:
        """Read every partition of the topics: known ones from their positions, new ones
        (not in `start`) from their beginning, or end."""
        partitions = [
            TopicPartition(topic, partition)
            for topic, count in (await self._partition_counts()).items()
            for partition in range(count)
        ]

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
            offsets = self._positions.setdefault(self._topics[tp.topic], [])
            offsets.extend([0] * (tp.partition + 1 - len(offsets)))
            offsets[tp.partition] = offset
            consumer.seek(tp, offset)

    async def _partition_counts(self) -> dict[str, int]:
        """How many partitions each of the topics has (a topic not there yet: none)."""
        # The consumer's own `topics()` fetches this but keeps it from `partitions_for_topic`.
        cluster = await self._consumer._client.fetch_all_metadata()
        return {topic: len(cluster.partitions_for_topic(topic) or ()) for topic in self._topics}

    async def _follow_new_partitions(self) -> None:
        # Read a partition added since (or a topic created since) from its beginning: all of
        # it is newer than what the client has. Re-assigning forgets the fetch positions, so
        # every partition is sought back to the stream's own.
        counts = await self._partition_counts()
        read = {topic: len(self._positions.get(self._topics[topic], ())) for topic in counts}
        if any(count > read[topic] for topic, count in counts.items()):
            await self._assign({u: list(o) for u, o in self._positions.items()}, at_end=False)

    async def messages(
        self,
        wanted: Filter,
        stopping: asyncio.Event,
        *,
        keep_alive: float = 15.0,
        poll: float = 1.0,
        rescan: float = 30.0,
    ) -> AsyncIterator[bytes]:
        """The events `wanted` as SSE messages, each with the cursor after it; the cursor
        alone first, and every `keep_alive` seconds without an event. Ends when `stopping`
        is set."""
        last_sent = last_scan = time.monotonic()
        yield sse_position(encode_cursor(self._positions))
        while not stopping.is_set():
            try:
                if time.monotonic() - last_scan >= rescan:
                    last_scan = time.monotonic()
                    await self._follow_new_partitions()
                batches = await self._consumer.getmany(timeout_ms=int(poll * 1000))
            except KafkaError as exc:
                # The client reconnects with its cursor, to Kafka when it is back.
                log.warning("event feed: lost Kafka (%s); ending the stream", exc)
                return
            for tp, records in batches.items():
                topic = self._topics[tp.topic]
                for record in records:
                    # Every record read moves the cursor, wanted or not: a client resuming
                    # after a later message is not sent the unwanted ones again.
                    self._positions[topic][tp.partition] = record.offset + 1
                    message = self._message(topic, tp, record.offset, record.value, wanted)
                    if message is not None:
                        last_sent = time.monotonic()
                        yield message
            if time.monotonic() - last_sent >= keep_alive:
                last_sent = time.monotonic()
                yield sse_position(encode_cursor(self._positions))

    def _message(
        self, topic: str, tp: TopicPartition, offset: int, value: bytes | None, wanted: Filter
    ) -> bytes | None:
        try:
            event = orjson.loads(value or b"")
        except orjson.JSONDecodeError:
            event = None
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            # Not a CloudEvent: no client could use it. Skipped, loudly, as consumers do.
            log.error("event feed: skipping unreadable record %s@%s", tp, offset)
            return None
        if not wanted.matches(topic, event):
            return None
        assert value is not None
        return sse_message(event["type"], value.decode(), encode_cursor(self._positions))

    async def close(self) -> None:
        """Stop the consumer: its fetcher and connections end with it."""
        await self._consumer.stop()
