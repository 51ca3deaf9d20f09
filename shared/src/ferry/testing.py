"""In-memory fakes for unit tests: same contract as the PostgreSQL parts, no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import uuid4

from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError
from ferry.events.base import Event, EventRegistry
from ferry.events.release import ReleasePlanned
from ferry.eventsigning import EventSigner
from ferry.eventstore import Replayed, replayed, seal


class InMemoryEventStore:
    """An `EventStore` in a dict; `published` stands in for the outbox."""

    def __init__(self, source: str = "test") -> None:
        self._source = source
        self._streams: dict[str, list[Envelope]] = defaultdict(list)
        self.published: list[Envelope] = []

    async def load(
        self, stream_id: str, *, after: int = 0, limit: int | None = None
    ) -> list[Envelope]:
        later = [e for e in self._streams.get(stream_id, []) if e.streamversion > after]
        return later[:limit]

    async def replay(self, stream_id: str, registry: EventRegistry) -> Replayed:
        return replayed(((e.type, e.data) for e in self._streams.get(stream_id, [])), registry)

    async def append(
        self, stream_id: str, expected_version: int, new: Sequence[Event], meta: Meta
    ) -> list[Envelope]:
        stream = self._streams[stream_id]
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version)
        # Chained after the head, as the PostgreSQL store does.
        prevhash = stream[-1].hash if stream else None
        sealed = seal(self._source, stream_id, expected_version, new, meta, prevhash)
        stream.extend(sealed)
        self.published.extend(sealed)
        return sealed


class InMemoryUnitOfWork:
    """A unit of work over an `InMemoryEventStore`, for handler unit tests."""

    def __init__(self, events: InMemoryEventStore | None = None) -> None:
        self._events = events or InMemoryEventStore()

    @property
    def events(self) -> InMemoryEventStore:
        return self._events


def envelope_for(
    event: Event,
    *,
    correlation_id: str = "test",
    actor: str = "test",
    source: str = "test",
    signer: EventSigner | None = None,
) -> Envelope:
    """`event` as another service (`source`) would have published it: version 1 of its
    stream, signed by `signer` (None: unsigned)."""
    meta = Meta(actor, correlation_id)
    [envelope] = seal(source, event.stream_id(), 0, [event], meta, signer=signer)
    return envelope


def release_planned(**overrides: Any) -> ReleasePlanned:
    """A `ReleasePlanned` with sensible values; override what a test cares about."""
    fields: dict[str, Any] = {
        "release_id": uuid4(),
        "name": "Payments",
        "version": "1.0",
        "planned_start": date(2026, 12, 1),
        "planned_end": date(2026, 12, 2),
        "release_manager": "rita",
        "identifier": "REL-2026-0001",
        "release_type": "minor",
        "description": "",
    }
    return ReleasePlanned(**(fields | overrides))
