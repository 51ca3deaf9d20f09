"""Events published by dml-svc on `dml.events`."""

from __future__ import annotations

from typing import ClassVar, Literal
from uuid import UUID

from ferry.events.base import Event


class LibraryEntryEvent(Event):
    """An event of one release's entry in the Definitive Media Library."""

    stream_prefix: ClassVar[str] = "library-entry"
    release_id: UUID

    def aggregate_id(self) -> str:
        return str(self.release_id)


class LibraryEntryOpened(LibraryEntryEvent):
    """The DML opened an (empty) entry for a newly planned release."""

    type: Literal["LibraryEntryOpened"] = "LibraryEntryOpened"
    schema_version: Literal[1] = 1
    name: str
    version: str
