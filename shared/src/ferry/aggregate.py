"""Loading an aggregate from its stream and recording what it decided: the two I/O steps
around every command handler's pure decision."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, Self, TypeVar

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, NotFound
from ferry.events import REGISTRY, Event
from ferry.eventstore import EventStore


class Aggregate(Protocol):
    """A plain-Python aggregate: evolves by its events; `version` is its stream's version."""

    version: int

    def apply(self, event: Any) -> None: ...


A = TypeVar("A", bound=Aggregate)


class EventSourced:
    """What every aggregate shares: `version` counts the events of its stream, so one with
    none does not exist yet, and `replay` builds one from its events."""

    version: int

    def __init__(self, aggregate_id: Any) -> None:
        # Each aggregate is a dataclass whose first field is its id; this says so to `replay`.
        raise NotImplementedError

    def apply(self, event: Any) -> None:
        """Evolve by one event; also how the aggregate is rebuilt from its stream."""
        self._evolve(event)
        self.version += 1

    def _evolve(self, event: Any) -> None:
        """What one event changes (each aggregate's own)."""
        raise NotImplementedError

    @property
    def exists(self) -> bool:
        return self.version > 0

    @classmethod
    def replay(cls, aggregate_id: Any, events: Iterable[Any]) -> Self:
        found = cls(aggregate_id)
        for event in events:
            found.apply(event)
        return found


async def rebuild(events: EventStore, stream_id: str, aggregate: A, kind: type[Event]) -> A:
    """Apply the stream's events of `kind` to a fresh `aggregate`."""
    stream = await events.replay(stream_id, REGISTRY)
    for event in stream.events:
        if isinstance(event, kind):
            aggregate.apply(event)
    # The stream's version counts events this release cannot read, too: the next append
    # must expect it, not the number applied.
    aggregate.version = stream.version
    return aggregate


async def existing(
    events: EventStore, stream_id: str, aggregate: A, kind: type[Event], missing: str
) -> A:
    """Like `rebuild`, for an aggregate that must exist: `NotFound(missing)` if it does not."""
    found = await rebuild(events, stream_id, aggregate, kind)
    if found.version == 0:
        raise NotFound(missing)
    return found


async def at_version(
    events: EventStore,
    stream_id: str,
    aggregate: A,
    kind: type[Event],
    missing: str,
    expected_version: int,
) -> A:
    """Like `existing`, if still at the version the caller read (its `If-Match`)."""
    found = await existing(events, stream_id, aggregate, kind, missing)
    if found.version != expected_version:
        raise ConcurrencyError(stream_id, expected_version)
    return found


async def record(
    events: EventStore, stream_id: str, aggregate: A, new: Sequence[Event], meta: Meta
) -> A:
    """Append what `aggregate` decided, at the version it was loaded at, and apply it."""
    await events.append(stream_id, aggregate.version, new, meta)
    for event in new:
        aggregate.apply(event)
    return aggregate
