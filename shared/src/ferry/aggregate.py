"""The aggregate repository: loading an aggregate from its stream (at the version a caller
read, or rebuilt from scratch) and recording what it decided, the two I/O steps around every
command handler's pure decision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, NotFound
from ferry.events import REGISTRY, Event
from ferry.eventsourced import Aggregate
from ferry.eventstore import EventStore

A = TypeVar("A", bound=Aggregate)


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
