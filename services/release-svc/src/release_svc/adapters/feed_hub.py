"""One Kafka reader per process for every live stream of the event feed.

The shared reader runs while any stream is open and hands each batch it reads to every
stream that has joined it. A stream starting from now joins at once. One resuming from a
cursor (or reading from the beginning) reads with a reader of its own until it is at or past
the shared reader on every partition, then joins it and closes its own: joining is checked
and done without an await between, so the shared reader has handed out nothing the stream
has not read, and the stream skips what it read already (offsets below its own position).
Each stream keeps its own positions, so each message's cursor is exact as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping

from aiokafka.errors import KafkaConnectionError, KafkaError
from prometheus_client import Gauge

from ferry.feed import (
    Filter,
    Positions,
    ResumeTooFarBack,
    UnreadableCursor,
    behind,
    covers,
    encode_cursor,
    furthest,
    sse_message,
    sse_position,
)
from ferry.kafka_client import KafkaSettings
from release_svc.adapters.event_stream import KafkaReader, Record

log = logging.getLogger(__name__)

READERS = Gauge(
    "ferry_feed_kafka_readers",
    "Kafka consumers the event feed runs: the shared one, and those of streams catching up",
    ["kind"],
    multiprocess_mode="livesum",
)
STREAMS = Gauge("ferry_feed_streams", "Event feed streams open", multiprocess_mode="livesum")
for _kind in ("shared", "catch-up"):
    READERS.labels(_kind)  # shown as 0 before the first stream


class FeedHub:
    """The shared reader of `topics` and the streams it serves."""

    def __init__(
        self,
        kafka: KafkaSettings,
        topics: Mapping[str, str],
        *,
        client_id: str,
        backlog: int = 10_000,
    ) -> None:
        self._kafka = kafka
        self._topics = dict(topics)
        self._client_id = client_id
        self.backlog = backlog
        self._lock = asyncio.Lock()
        self._reader: KafkaReader | None = None
        self._task: asyncio.Task[None] | None = None
        self._joined: set[Subscription] = set()
        self._users = 0
        """Streams open, joined or catching up: the shared reader runs while there are any."""

    async def subscribe(
        self, start: Positions | None, *, from_beginning: bool, max_behind: int | None = None
    ) -> Subscription:
        """A stream from the cursor's `start`, else from the beginning or from now. Raises
        `KafkaError` when Kafka cannot be reached, and `ResumeTooFarBack` for a `start` more
        than `max_behind` records (None: any number) behind the newest on a partition."""
        async with self._lock:
            if self._reader is None:
                reader = await self._open(start=None, from_beginning=False)
                READERS.labels("shared").inc()
                self._reader = reader
                self._task = asyncio.create_task(self._fan_out(reader), name="feed-fan-out")
            self._users += 1
        try:
            subscription = await self._start(start, from_beginning, max_behind)
        except BaseException:
            await self.leave()
            raise
        STREAMS.inc()
        return subscription

    async def _open(self, *, start: Positions | None, from_beginning: bool) -> KafkaReader:
        return await KafkaReader.open(
            self._kafka,
            self._topics,
            client_id=self._client_id,
            start=start,
            from_beginning=from_beginning,
        )

    async def _start(
        self, start: Positions | None, from_beginning: bool, max_behind: int | None
    ) -> Subscription:
        shared = self._reader
        if shared is None:
            raise KafkaConnectionError("the shared reader lost Kafka")
        if start is not None:
            ends = await shared.end_offsets()
            if not covers(ends, start):
                # No cursor given out is past the end: a reader would start such a partition
                # over from its beginning, a replay by another name.
                raise UnreadableCursor("Last-Event-ID")
            lag = behind(start, ends)
            if max_behind is not None and lag > max_behind:
                raise ResumeTooFarBack(
                    f"the cursor is {lag} events behind, more than the {max_behind} a "
                    "reconnect may resume: a replay, for the roles allowed one (auditors); "
                    "reconnect without it"
                )
        if start is None and not from_beginning:
            ends = await shared.end_offsets()
            # What the shared reader handed out meanwhile came before this stream began.
            subscription = Subscription(self, furthest(ends, shared.positions), None)
            if not self.join(subscription):
                raise KafkaConnectionError("the shared reader lost Kafka")
            return subscription
        if start is not None and covers(start, shared.positions):
            subscription = Subscription(self, copy.deepcopy(start), None)
            if self.join(subscription):
                return subscription
        own = await self._open(start=start, from_beginning=from_beginning)
        READERS.labels("catch-up").inc()
        return Subscription(self, copy.deepcopy(own.positions), own)

    def join(self, subscription: Subscription) -> bool:
        """Hand `subscription` what the shared reader reads from now on, if it has read all
        the shared reader handed out; no await in here, so nothing is handed out meanwhile."""
        shared = self._reader
        if shared is None or not covers(subscription.positions, shared.positions):
            return False
        self._joined.add(subscription)
        return True

    async def _fan_out(self, reader: KafkaReader) -> None:
        try:
            while True:
                records = await reader.read(timeout=1.0)
                if not records:
                    continue
                for subscription in list(self._joined):
                    if not subscription.deliver(records):
                        self._joined.discard(subscription)
        except Exception as exc:
            # Every stream ends; its client reconnects with its cursor, to Kafka when back.
            if isinstance(exc, KafkaError):
                log.warning("event feed: lost Kafka (%s); ending every stream", exc)
            else:
                log.exception("event feed: the shared reader failed; ending every stream")
            if self._reader is reader:
                self._reader = None
                self._task = None
            for subscription in self._joined:
                subscription.end()
            self._joined.clear()
            READERS.labels("shared").dec()
            await reader.close()

    async def leave(self, subscription: Subscription | None = None) -> None:
        """One stream fewer; the last one out stops the shared reader."""
        if subscription is not None:
            self._joined.discard(subscription)
        async with self._lock:
            self._users -= 1
            if self._users > 0 or self._reader is None:
                return
            reader, task = self._reader, self._task
            self._reader = self._task = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        READERS.labels("shared").dec()
        await reader.close()


class Subscription:
    """One client's stream: its own positions, what the shared reader handed it, and until
    it has caught up, a reader of its own."""

    def __init__(self, hub: FeedHub, positions: Positions, own: KafkaReader | None) -> None:
        self._hub = hub
        self.positions = positions
        self._own = own
        self._pending: deque[list[Record]] = deque()
        self._pending_records = 0
        self._wake = asyncio.Event()
        self._ended = False
        self._closed = False

    def deliver(self, records: list[Record]) -> bool:
        """Take a batch from the shared reader; False (and the stream ends once it has sent
        what it holds) when the client reads too slowly to keep up."""
        if self._pending_records + len(records) > self._hub.backlog:
            log.warning(
                "event feed: a client fell %d records behind; ending its stream",
                self._pending_records,
            )
            self.end()
            return False
        self._pending.append(records)
        self._pending_records += len(records)
        self._wake.set()
        return True

    def end(self) -> None:
        """No more records will come: the stream ends once it sent what it holds."""
        self._ended = True
        self._wake.set()

    async def messages(
        self,
        wanted: Filter,
        stopping: asyncio.Event,
        *,
        deadline: float | None = None,
        keep_alive: float = 15.0,
        poll: float = 1.0,
    ) -> AsyncIterator[bytes]:
        """The events `wanted` as SSE messages, each with the cursor after it; the cursor
        alone first, and every `keep_alive` seconds without an event. Ends when `stopping`
        is set, at `deadline` (the token's expiry, seconds since the epoch), or when Kafka
        is lost."""
        last_sent = time.monotonic()
        yield sse_position(encode_cursor(self.positions))
        while not stopping.is_set():
            if deadline is not None and time.time() >= deadline:
                yield b": the token expired; reconnect with a new one\n\n"
                return
            records = await self._next(
                poll if deadline is None else min(poll, deadline - time.time())
            )
            if records is None:
                return
            for record in records:
                message = self._message(record, wanted)
                if message is not None:
                    last_sent = time.monotonic()
                    yield message
            if time.monotonic() - last_sent >= keep_alive:
                last_sent = time.monotonic()
                yield sse_position(encode_cursor(self.positions))

    async def _next(self, timeout: float) -> list[Record] | None:
        """The next records (maybe none) within `timeout`; None once the stream is over."""
        if self._own is not None:
            if self._hub.join(self):
                await self._close_own()
                return []
            try:
                return await self._own.read(max(timeout, 0))
            except KafkaError as exc:
                log.warning("event feed: lost Kafka (%s); ending the stream", exc)
                return None
        if not self._pending:
            if self._ended:
                return None
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(timeout, 0))
            return []
        records = self._pending.popleft()
        self._pending_records -= len(records)
        return records

    def _message(self, record: Record, wanted: Filter) -> bytes | None:
        offsets = self.positions.setdefault(record.topic, [])
        offsets.extend([0] * (record.partition + 1 - len(offsets)))
        if record.offset < offsets[record.partition]:
            return None  # read already, by this stream's own reader before it joined
        # Every record read moves the cursor, wanted or not: a client resuming after a
        # later message is not sent the unwanted ones again.
        offsets[record.partition] = record.offset + 1
        event = record.event
        if event is None or not wanted.matches(record.topic, event):
            return None
        return sse_message(event["type"], record.value.decode(), encode_cursor(self.positions))

    async def _close_own(self) -> None:
        own, self._own = self._own, None
        if own is not None:
            READERS.labels("catch-up").dec()
            await own.close()

    async def close(self) -> None:
        """End the stream: its own reader stops, and the shared one if it was the last."""
        if self._closed:
            return
        self._closed = True
        await self._close_own()
        STREAMS.dec()
        await self._hub.leave(self)
