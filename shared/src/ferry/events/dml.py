"""Events published by dml-svc on `dml.events`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from ferry.events.base import Event
from ferry.events.release import MediaRef


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


class PackageValidated(LibraryEntryEvent):
    """release-svc validated the release's package (this revision of it)."""

    type: Literal["PackageValidated"] = "PackageValidated"
    schema_version: Literal[1] = 1
    package_revision: int


class ManifestItem(BaseModel):
    """One media item of a release's manifest."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    version: str
    sha256: str
    size: int


class PackageApproved(LibraryEntryEvent):
    """release-svc approved the release's package: these media, this revision."""

    type: Literal["PackageApproved"] = "PackageApproved"
    schema_version: Literal[1] = 1
    package_revision: int
    media: list[MediaRef]


class ReleaseAvailabilityRefused(LibraryEntryEvent):
    """The approved package cannot be made available (media missing, altered or revoked)."""

    type: Literal["ReleaseAvailabilityRefused"] = "ReleaseAvailabilityRefused"
    schema_version: Literal[1] = 1
    package_revision: int
    reasons: list[str]


class ReleaseRevoked(LibraryEntryEvent):
    """A librarian withdrew the release's media (each gets `MediaRevoked`); deploy nothing of it."""

    type: Literal["ReleaseRevoked"] = "ReleaseRevoked"
    schema_version: Literal[1] = 1
    reason: str
    media: list[MediaRef]


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
    service: str | None = None
    """The service it is for: the testers and deployers of the team owning that service take
    it; media for no service, only those of every team."""


class MediaAuthorized(MediaEvent):
    """The media moved from quarantine into the definitive library, for a release."""

    type: Literal["MediaAuthorized"] = "MediaAuthorized"
    schema_version: Literal[1] = 1
    sha256: str
    release_id: UUID


class MediaCorruptionDetected(MediaEvent):
    """The stored bytes no longer have the media's digest: found on download or by a scrub."""

    type: Literal["MediaCorruptionDetected"] = "MediaCorruptionDetected"
    schema_version: Literal[1] = 1
    sha256: str
    found: str
    """The digest the bytes now have, or "missing"."""
    detected_by: str
    """`download` or `scrub`."""


class LicenceAttached(MediaEvent):
    """Purchased software's licence: its document (a media item of kind licence) and terms."""

    type: Literal["LicenceAttached"] = "LicenceAttached"
    schema_version: Literal[1] = 1
    licence_name: str
    licence_version: str
    licence_sha256: str
    seats: int | None = None
    expires_on: date | None = None
    terms: str = ""


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
    package_revision: int = 0
    manifest: str
    """The manifest as signed: canonical JSON of release id, version, media and time."""
    signature: str
    """Ed25519 over the manifest's UTF-8 bytes, base64."""
    key_id: str = ""
    """Which of the library's signing keys signed it (its public key's sha256, hex)."""


class MediaRetrieved(MediaEvent):
    """Someone downloaded the media: who, what (the digest), when (the envelope's time)."""

    type: Literal["MediaRetrieved"] = "MediaRetrieved"
    schema_version: Literal[1] = 1
    sha256: str
    retrieved_by: str


# The Definitive Hardware Store: spares of hardware configuration items, kept in the DHS.


class SpareEvent(Event):
    """An event of one spare of the Definitive Hardware Store: a stock of one part, at one
    revision level, in one location."""

    stream_prefix: ClassVar[str] = "spare"
    spare_id: UUID

    def aggregate_id(self) -> str:
        return str(self.spare_id)


class SpareRegistered(SpareEvent):
    """A librarian put a stock of a part into the store, for the configuration items listed."""

    type: Literal["SpareRegistered"] = "SpareRegistered"
    schema_version: Literal[1] = 1
    model: str
    part_number: str
    revision: str
    """The part's revision level."""
    quantity: int
    location: str
    replaces: list[str]
    """The configuration items a unit of this spare can replace in live."""


class SpareWithdrawn(SpareEvent):
    """Units left the store for live, under an approved request for change."""

    type: Literal["SpareWithdrawn"] = "SpareWithdrawn"
    schema_version: Literal[1] = 1
    withdrawal: int
    """The withdrawal's number within the spare (1, 2, …); returns and replacements name it."""
    quantity: int
    rfc: str
    withdrawn_by: str
    remaining: int
    """Units left in the store."""


class SpareReturned(SpareEvent):
    """Units of a withdrawal came back to the store (not needed, or taken out of live again)."""

    type: Literal["SpareReturned"] = "SpareReturned"
    schema_version: Literal[1] = 1
    withdrawal: int
    quantity: int
    returned_by: str


class SpareReplaced(SpareEvent):
    """Units of a withdrawal stay in live; new units of the same part and revision took their
    place in the store."""

    type: Literal["SpareReplaced"] = "SpareReplaced"
    schema_version: Literal[1] = 1
    withdrawal: int
    quantity: int
    replaced_by: str


class SpareRevisionOutOfDate(SpareEvent):
    """A configuration item the spare replaces runs a newer revision level in live now."""

    type: Literal["SpareRevisionOutOfDate"] = "SpareRevisionOutOfDate"
    schema_version: Literal[1] = 1
    configuration_item: str
    live_revision: str
    revision: str
    """The spare's own, older, revision level."""
