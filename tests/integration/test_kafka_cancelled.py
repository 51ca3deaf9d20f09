"""A Kafka client cancelled while it starts, opens or stops leaves no connection open.

aiokafka forgets its bootstrap connection when `start()` is cancelled during the metadata
request that follows the connect: the socket stays open until the event loop ends, and is
reported (a `ResourceWarning`, an error here) in whichever test the collector next runs.
CI failed twice that way, in tests whose service had lived a moment, its consumers still
starting. `ferry.kafka_client.uninterrupted` lets such a start finish before the
cancellation goes on; with a plain `await consumer.start()` the tests below fail.

Cancelled while it connects to a broker (its version or SASL handshake), aiokafka closes
that connection but nobody waits for it: over TLS the socket stays open until the close
handshake ends, and when the event loop ends first, it leaks the same way. The event feed's
readers, opened and closed by requests a client or a shutdown cancels, met that.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from aiokafka.conn import AIOKafkaConnection

from ferry.kafka import Consumer
from ferry.kafka_client import uninterrupted
from release_svc.adapters.event_stream import KafkaReader
from tests.support.infra import Infra


class Bootstrapping:
    """Every connection that asked for the cluster's metadata, and an event set at the
    first such request: the moment a start is cancelled in these tests."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.connections: weakref.WeakSet[AIOKafkaConnection] = weakref.WeakSet()

    def open(self) -> list[AIOKafkaConnection]:
        return [c for c in self.connections if c.connected()]


@pytest.fixture
def bootstrapping(monkeypatch: pytest.MonkeyPatch) -> Bootstrapping:
    seen = Bootstrapping()
    send = AIOKafkaConnection.send

    def watched(self: AIOKafkaConnection, request: Any, *args: Any, **kwargs: Any) -> Any:
        if type(request).__name__.startswith("MetadataRequest"):
            seen.connections.add(self)
            seen.asked.set()
        return send(self, request, *args, **kwargs)

    monkeypatch.setattr(AIOKafkaConnection, "send", watched)
    return seen


async def test_a_consumer_cancelled_while_it_bootstraps_closes_every_connection(
    infra: Infra, bootstrapping: Bootstrapping
) -> None:
    consumer = AIOKafkaConsumer("anything", **infra.kafka.kafka_options(), group_id=None)
    starting = asyncio.create_task(uninterrupted(consumer.start()))
    await bootstrapping.asked.wait()
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting  # the caller is cancelled all the same
    await consumer.stop()
    assert bootstrapping.connections, "the start sent no metadata request"
    assert bootstrapping.open() == []


async def test_a_service_consumer_stopped_while_it_starts_closes_every_connection(
    infra: Infra, topic_prefix: str, bootstrapping: Bootstrapping
) -> None:
    async def handle(*_: Any) -> None:
        return None

    consumer = Consumer(infra.kafka, f"{topic_prefix}starting", [f"{topic_prefix}x"], handle)
    running = asyncio.create_task(consumer.run())
    await bootstrapping.asked.wait()
    running.cancel()  # as `Workers.stop` does when a service stops
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert bootstrapping.open() == []


class Sockets:
    """Every socket an aiokafka connection opened, and the requests sent: the n-th sets
    `reached`, the moment an opening is cancelled in these tests."""

    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.bootstrap: list[Any] = []
        self.requests = 0
        self.cancel_at: int | None = None
        self.reached = asyncio.Event()

    def reset(self, cancel_at: int) -> None:
        self.requests, self.cancel_at = 0, cancel_at
        self.reached.clear()

    async def left_open(self) -> list[Any]:
        """The sockets open now, but a bootstrap connection's only if open a moment from
        now: aiokafka closes that one without waiting, and over TLS a close takes a round
        trip. Any other must be closed when the client's caller gets control back."""
        now = [s for s in self.opened if s.fileno() != -1 and s not in self.bootstrap]
        for _ in range(100):
            later = [s for s in self.bootstrap if s.fileno() != -1]
            if not later:
                break
            await asyncio.sleep(0.01)
        return now + later


@pytest.fixture
def sockets(monkeypatch: pytest.MonkeyPatch) -> Sockets:
    seen = Sockets()
    send, reader_task = AIOKafkaConnection.send, AIOKafkaConnection._create_reader_task
    bootstrap = AIOKafkaClient.bootstrap
    bootstrapping = contextvars.ContextVar("bootstrapping", default=False)

    def counted(self: AIOKafkaConnection, request: Any, *args: Any, **kwargs: Any) -> Any:
        seen.requests += 1
        if seen.requests == seen.cancel_at:
            seen.reached.set()
        return send(self, request, *args, **kwargs)

    def connected(self: AIOKafkaConnection) -> Any:
        # Called by `connect()` once the transport is up: the TLS transport's own socket.
        socket = self._writer.transport.get_extra_info("socket")
        seen.opened.append(socket)
        if bootstrapping.get():
            seen.bootstrap.append(socket)
        return reader_task(self)

    async def bootstrapped(self: AIOKafkaClient) -> None:
        token = bootstrapping.set(True)
        try:
            await bootstrap(self)
        finally:
            bootstrapping.reset(token)

    monkeypatch.setattr(AIOKafkaConnection, "send", counted)
    monkeypatch.setattr(AIOKafkaConnection, "_create_reader_task", connected)
    monkeypatch.setattr(AIOKafkaClient, "bootstrap", bootstrapped)
    return seen


async def test_a_feed_reader_cancelled_at_any_request_while_it_opens_leaves_no_socket_open(
    infra: Infra, topic_prefix: str, sockets: Sockets
) -> None:
    topics = {f"{topic_prefix}deploy.events": "deploy.events"}

    async def open_reader() -> KafkaReader:
        return await KafkaReader.open(
            infra.kafka, topics, client_id="cancelled", start=None, from_beginning=False
        )

    reader = await open_reader()
    requests = sockets.requests  # those of an opening; the fetcher sends more meanwhile
    await reader.close()
    assert requests >= 4, "bootstrap and broker connections, each with its handshake"
    assert len(sockets.opened) >= 2
    assert await sockets.left_open() == []
    cancelled = 0
    for n in range(1, requests + 1):
        sockets.reset(cancel_at=n)
        opening = asyncio.create_task(open_reader())
        await sockets.reached.wait()
        if not opening.cancel():  # the n-th request came from the opened reader's fetcher
            await opening.result().close()
            continue
        cancelled += 1
        with pytest.raises(asyncio.CancelledError):
            await opening
        assert await sockets.left_open() == [], f"cancelled at request {n} of {requests}"
    assert cancelled >= 4


async def test_a_feed_reader_cancelled_while_it_closes_leaves_no_socket_open(
    infra: Infra, topic_prefix: str, sockets: Sockets
) -> None:
    topics = {f"{topic_prefix}deploy.events": "deploy.events"}
    reader = await KafkaReader.open(
        infra.kafka, topics, client_id="cancelled", start=None, from_beginning=False
    )
    closing = asyncio.create_task(reader.close())
    await asyncio.sleep(0)  # it has begun to stop
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert sockets.opened
    assert await sockets.left_open() == []
