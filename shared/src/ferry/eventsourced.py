"""The aggregate base every domain model builds on: plain Python, no I/O, so importing a
domain module loads no database or Kafka client (`ferry.aggregate` loads and saves them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, Self


class Aggregate(Protocol):
    """A plain-Python aggregate: evolves by its events; `version` is its stream's version."""

    version: int

    def apply(self, event: Any) -> None: ...


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
