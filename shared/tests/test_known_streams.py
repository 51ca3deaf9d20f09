"""The typed-event cache of replayed streams: bounded, least recently read first out, never
going back to an older read of a stream."""

from __future__ import annotations

from ferry.events import REGISTRY, EventRegistry
from ferry.known_streams import CachedStream, StreamCache
from ferry.testing import release_planned


def stream(version: int, registry: EventRegistry = REGISTRY) -> CachedStream:
    return CachedStream(registry, tuple(release_planned() for _ in range(version)), version, "h")


def test_the_least_recently_read_stream_goes_first_when_full() -> None:
    cache = StreamCache(size=9)  # three streams of two events (each costs one more)
    for name in "abc":
        cache.put(name, stream(2))
    assert cache.get("a", REGISTRY) is not None  # read again: now the most recent
    cache.put("d", stream(2))
    assert cache.get("b", REGISTRY) is None
    assert all(cache.get(name, REGISTRY) is not None for name in "acd")


def test_an_older_read_never_replaces_a_newer_one() -> None:
    cache = StreamCache()
    cache.put("a", stream(3))
    cache.put("a", stream(2))  # a slower reader's
    found = cache.get("a", REGISTRY)
    assert found is not None
    assert found.version == 3


def test_a_stream_read_with_another_registry_is_not_served() -> None:
    cache = StreamCache()
    other = EventRegistry([])
    cache.put("a", stream(1, other))
    assert cache.get("a", REGISTRY) is None


def test_a_cache_of_size_zero_holds_nothing() -> None:
    cache = StreamCache(size=0)
    cache.put("a", stream(0))
    assert cache.get("a", REGISTRY) is None
