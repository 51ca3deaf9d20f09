"""What a process knows of committed streams, shared by the units of work of one database.

An event, once committed, never changes, and a stream only grows: what was seen committed
stays true. So appends reuse a stream's known head (`StreamHeads`) instead of reading its
hash again, and replays reuse the typed events already read (`StreamCache`), reading only
what came after them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

from ferry.events.base import Event, EventRegistry

Head = tuple[int, str | None]
"""A stream's latest known version and that event's hash."""


class StreamHeads:
    """The latest version and hash known of each of a bounded number of streams.

    The head check of an append still compares the hash, so a wrong entry can cost a
    `ConcurrencyError`, never a broken chain.
    """

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._known: OrderedDict[str, Head] = OrderedDict()

    def hash_at(self, stream_id: str, version: int) -> tuple[str | None] | None:
        """`(hash,)` of the stream's event at `version` if it is the one known, else None."""
        known = self._known.get(stream_id)
        return (known[1],) if known is not None and known[0] == version else None

    def saw(self, stream_id: str, version: int, hash_: str | None) -> None:
        known = self._known.get(stream_id)
        if known is None or known[0] <= version:
            self._known[stream_id] = (version, hash_)
        self._known.move_to_end(stream_id)
        if len(self._known) > self._size:
            self._known.popitem(last=False)  # the least recently seen

    def forget(self, stream_id: str) -> None:
        self._known.pop(stream_id, None)

    def merge(self, heads: Mapping[str, Head]) -> None:
        for stream_id, (version, hash_) in heads.items():
            self.saw(stream_id, version, hash_)


@dataclass(frozen=True)
class CachedStream:
    """A stream's events up to `version` as `registry` read them (its unknown types left
    out but counted), and the hash of the event at `version`."""

    registry: EventRegistry
    events: tuple[Event, ...]
    version: int
    hash: str | None


class StreamCache:
    """The typed events of recently replayed streams, about `size` events in all.

    Long streams are the point: a release changed hundreds of times is read and parsed
    whole by every command on it otherwise. A stream is kept only as read outside any
    append of the unit of work reading it, so only committed events are ever kept.
    """

    def __init__(self, size: int = 200_000) -> None:
        self._size = size
        self._held = 0
        self._streams: OrderedDict[str, CachedStream] = OrderedDict()

    def get(self, stream_id: str, registry: EventRegistry) -> CachedStream | None:
        found = self._streams.get(stream_id)
        if found is None or found.registry is not registry:
            return None
        self._streams.move_to_end(stream_id)
        return found

    def put(self, stream_id: str, stream: CachedStream) -> None:
        known = self._streams.pop(stream_id, None)
        if known is not None:
            self._held -= len(known.events)
            if known.version > stream.version:
                stream = known  # a slower reader's older read: keep the newer
        self._streams[stream_id] = stream
        self._held += len(stream.events)
        # A stream costs one more than its events, so a cache of size 0 holds nothing.
        while self._held + len(self._streams) > self._size:
            _, evicted = self._streams.popitem(last=False)  # the least recently read
            self._held -= len(evicted.events)
