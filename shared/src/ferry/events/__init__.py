"""The published contract: one module per publishing service, plus the base and registry."""

from __future__ import annotations

from ferry.events.base import Event, EventRegistry
from ferry.events.dml import LibraryEntryOpened
from ferry.events.release import (
    ReleaseCancelled,
    ReleaseDependenciesSet,
    ReleasePlanned,
    ReleaseRescheduled,
)

REGISTRY = EventRegistry(
    [
        ReleasePlanned,
        ReleaseRescheduled,
        ReleaseCancelled,
        ReleaseDependenciesSet,
        LibraryEntryOpened,
    ]
)
"""Every event type Ferry publishes; consumers parse with it and skip what it lacks."""

__all__ = [
    "REGISTRY",
    "Event",
    "EventRegistry",
    "LibraryEntryOpened",
    "ReleasePlanned",
    "ReleaseRescheduled",
]
