"""A media item of the library: one name@version, its bytes fixed forever once staged."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from uuid import UUID

from ferry.errors import Conflict, Forbidden, InvalidField, InvalidTransition
from ferry.events.dml import (
    LicenceAttached,
    MediaAuthorized,
    MediaCorruptionDetected,
    MediaEvent,
    MediaKind,
    MediaRetrieved,
    MediaRevoked,
    MediaStaged,
)
from ferry.eventsourced import EventSourced

NAMESPACE = UUID("6f1c7b1e-5d5a-4c1e-9f0a-3d2b8c4e7a10")
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")


class MediaState(StrEnum):
    STAGED = "staged"
    """In quarantine: testers may take it to validate a release."""
    DEFINITIVE = "definitive"
    """Authorised master copy: what deployments take."""
    REVOKED = "revoked"
    """Withdrawn; nothing may take it any more."""


class InvalidMedia(InvalidField):
    """Media metadata or a digest header the library refuses, naming the field."""


class MediaImmutable(Conflict):
    """name@version exists with other bytes; the library never overwrites."""


class MayNotRetrieve(Forbidden):
    """The caller's roles do not reach media in this state."""


def check_label(field: str, value: str) -> str:
    """Names and versions become parts of paths and headers: no traversal, no controls."""
    if not _LABEL.fullmatch(value) or ".." in value:
        raise InvalidMedia(
            field, "1 to 128 letters, digits, '.', '_', '+', '-', starting alphanumeric, no '..'"
        )
    return value


def media_id(name: str, version: str) -> UUID:
    """One stream per name@version, so a second upload meets the first."""
    return uuid.uuid5(NAMESPACE, f"{name}@{version}")


@dataclass(frozen=True)
class Blob:
    """Bytes in the blob store, by content."""

    sha256: str
    size: int


@dataclass(frozen=True)
class LicenceTerms:
    seats: int | None = None
    expires_on: date | None = None
    terms: str = ""


@dataclass(frozen=True)
class StageMedia:
    name: str
    version: str
    blob: Blob
    kind: MediaKind
    media_type: str
    supplier: str
    service: str | None = None


@dataclass
class Media(EventSourced):
    """A media item as its events tell it."""

    id: UUID
    version: int = 0
    state: MediaState | None = None
    name: str = ""
    media_version: str = ""
    sha256: str = ""
    size: int = 0
    kind: MediaKind = MediaKind.SOFTWARE
    media_type: str = ""
    supplier: str = ""
    service: str | None = None
    licence: LicenceAttached | None = None

    def stage(self, cmd: StageMedia) -> list[MediaEvent]:
        """Stage new media; the same bytes again decide nothing, other bytes are refused."""
        check_label("name", cmd.name)
        check_label("version", cmd.version)
        if self.exists:
            if self.sha256 == cmd.blob.sha256:
                return []
            raise MediaImmutable(
                f"{self.name}@{self.media_version} is already in the library with sha256 "
                f"{self.sha256}; the library never overwrites — give the new bytes a new version"
            )
        return [
            MediaStaged(
                media_id=self.id,
                name=cmd.name,
                version=cmd.version,
                sha256=cmd.blob.sha256,
                size=cmd.blob.size,
                kind=cmd.kind,
                media_type=cmd.media_type,
                supplier=cmd.supplier,
                service=cmd.service,
            )
        ]

    def authorize(self, release_id: UUID) -> list[MediaEvent]:
        """Move staged media into the definitive library for `release_id`."""
        if self.state is not MediaState.STAGED:
            return []
        return [
            MediaAuthorized(
                media_id=self.id,
                name=self.name,
                version=self.media_version,
                sha256=self.sha256,
                release_id=release_id,
            )
        ]

    def attach_licence(self, licence: Media, terms: LicenceTerms) -> list[MediaEvent]:
        """Attach (or renew) the licence of purchased software: a licence media item."""
        if self.kind is not MediaKind.SOFTWARE:
            raise InvalidMedia("kind", f"only software has a licence, not {self.kind}")
        if not licence.exists or licence.kind is not MediaKind.LICENCE:
            raise InvalidMedia("licence", "must name a media item of kind licence")
        if licence.state is MediaState.REVOKED:
            raise InvalidMedia("licence", f"{licence.name}@{licence.media_version} is revoked")
        return [
            LicenceAttached(
                media_id=self.id,
                name=self.name,
                version=self.media_version,
                licence_name=licence.name,
                licence_version=licence.media_version,
                licence_sha256=licence.sha256,
                seats=terms.seats,
                expires_on=terms.expires_on,
                terms=terms.terms,
            )
        ]

    def revoke(self, reason: str) -> list[MediaEvent]:
        """Withdraw the media for good (a vulnerability, a licence ended): nothing may take
        it any more. The bytes stay, as every version's master copy does."""
        if self.state is MediaState.REVOKED:
            raise InvalidTransition(f"{self.name}@{self.media_version}", str(self.state), "revoke")
        return [
            MediaRevoked(
                media_id=self.id,
                name=self.name,
                version=self.media_version,
                sha256=self.sha256,
                reason=reason,
            )
        ]

    def corruption_detected(self, found: str, detected_by: str) -> list[MediaEvent]:
        return [
            MediaCorruptionDetected(
                media_id=self.id,
                name=self.name,
                version=self.media_version,
                sha256=self.sha256,
                found=found,
                detected_by=detected_by,
            )
        ]

    def retrieve(self, by: str, may_take: frozenset[MediaState]) -> list[MediaEvent]:
        """Record a download by `by`, whose roles reach media in the states `may_take`."""
        if self.state is MediaState.REVOKED:
            raise InvalidTransition(self.id, str(self.state), "retrieve")
        if self.state not in may_take:
            raise MayNotRetrieve(f"{self.state} media are not for your roles")
        return [
            MediaRetrieved(
                media_id=self.id,
                name=self.name,
                version=self.media_version,
                sha256=self.sha256,
                retrieved_by=by,
            )
        ]

    def _evolve(self, event: MediaEvent) -> None:
        match event:
            case MediaStaged():
                self.state = MediaState.STAGED
                self.name = event.name
                self.media_version = event.version
                self.sha256 = event.sha256
                self.size = event.size
                self.kind = event.kind
                self.media_type = event.media_type
                self.supplier = event.supplier
                self.service = event.service
            case MediaAuthorized():
                self.state = MediaState.DEFINITIVE
            case MediaRevoked():
                self.state = MediaState.REVOKED
            case LicenceAttached():
                self.licence = event
