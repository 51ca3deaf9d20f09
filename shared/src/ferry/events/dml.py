"""Events published by dml-svc on `dml.events`."""

from __future__ import annotations

from enum import StrEnum
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


class MediaKind(StrEnum):
    SOFTWARE = "software"
    DOCUMENTATION = "documentation"
    LICENCE = "licence"
    CONFIGURATION = "configuration"
    TRAINING_MATERIAL = "training_material"


class MediaEvent(Event):
    """An event of one media item (one name@version) of the library."""

    stream_prefix: ClassVar[str] = "media"
    media_id: UUID
    name: str
    version: str

    def aggregate_id(self) -> str:
        return str(self.media_id)


class MediaStaged(MediaEvent):
    """New media arrived in the library's quarantine; packages may now name it."""

    type: Literal["MediaStaged"] = "MediaStaged"
    schema_version: Literal[1] = 1
    sha256: str
    size: int
    kind: MediaKind
    media_type: str = "application/octet-stream"
    supplier: str = ""


class MediaRevoked(MediaEvent):
    """A librarian withdrew the media (e.g. a vulnerability); nothing may use it now."""

    type: Literal["MediaRevoked"] = "MediaRevoked"
    schema_version: Literal[1] = 1
    sha256: str
    reason: str


class ReleaseAvailable(LibraryEntryEvent):
    """The release's package is in the definitive library, described by a signed manifest."""

    type: Literal["ReleaseAvailable"] = "ReleaseAvailable"
    schema_version: Literal[1] = 1
    manifest: str
    """The manifest as signed: canonical JSON of release id, version, media and time."""
    signature: str
    """Ed25519 over `manifest`, base64."""
