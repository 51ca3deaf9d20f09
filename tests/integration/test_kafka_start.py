"""A Kafka client cancelled while it starts leaves no connection open.

aiokafka forgets its bootstrap connection when `start()` is cancelled during the metadata
request that follows the connect: the socket stays open until the event loop ends, and is
reported (a `ResourceWarning`, an error here) in whichever test the collector next runs.
CI failed twice that way, in tests whose service had lived a moment, its consumers still
starting. `ferry.kafka_client.start_client` lets such a start finish before the
cancellation goes on; with a plain `await consumer.start()` the tests below fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.conn import AIOKafkaConnection

from ferry.kafka import Consumer
from ferry.kafka_client import start_client
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
def bootstrapping(monkeypatch: pytest.MonkeyPatch) -> Iterator[Bootstrapping]:
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
    starting = asyncio.create_task(start_client(consumer.start()))
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
