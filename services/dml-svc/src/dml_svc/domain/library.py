"""A release's entry in the Definitive Media Library."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from ferry.events.dml import LibraryEntryEvent, LibraryEntryOpened


class EntryState(StrEnum):
    OPEN = "open"
    """Planned; media may be staged for it."""


@dataclass
class LibraryEntry:
    """The media the DML holds for one release, as its events tell it."""

    release_id: UUID
    version: int = 0
    state: EntryState | None = None
    name: str = ""
    release_version: str = ""

    @classmethod
    def replay(cls, release_id: UUID, events: Iterable[LibraryEntryEvent]) -> LibraryEntry:
        entry = cls(release_id)
        for event in events:
            entry.apply(event)
        return entry

    @property
    def exists(self) -> bool:
        return self.version > 0

    def open(self, name: str, release_version: str) -> list[LibraryEntryEvent]:
        """Open the entry of a newly planned release; opening it again decides nothing."""
        if self.exists:
            return []
        return [LibraryEntryOpened(release_id=self.release_id, name=name, version=release_version)]

    def apply(self, event: LibraryEntryEvent) -> None:
        match event:
            case LibraryEntryOpened():
                self.state = EntryState.OPEN
                self.name = event.name
                self.release_version = event.version
        self.version += 1
