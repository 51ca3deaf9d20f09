"""A release's entry in the Definitive Media Library: the package release-svc approved,
and, once it is both validated and approved, its media made definitive and available."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from uuid import UUID

from dml_svc.domain.media import Media, MediaState
from ferry.errors import InvalidTransition
from ferry.events.dml import (
    LibraryEntryEvent,
    LibraryEntryOpened,
    ManifestItem,
    PackageApproved,
    PackageValidated,
    ReleaseAvailabilityRefused,
    ReleaseAvailable,
    ReleaseRevoked,
)
from ferry.events.release import MediaRef
from ferry.eventsourced import EventSourced
from ferry.manifest import SignedManifest


class EntryState(StrEnum):
    OPEN = "open"
    """Planned; media may be staged for it."""
    AVAILABLE = "available"
    """Its approved package is in the definitive library, described by a signed manifest."""
    REVOKED = "revoked"
    """A librarian withdrew its media: nothing of it may be deployed."""


@dataclass
class LibraryEntry(EventSourced):
    """The media the DML holds for one release, as its events tell it."""

    release_id: UUID
    version: int = 0
    state: EntryState | None = None
    name: str = ""
    release_version: str = ""
    validated_revision: int = 0
    approved_revision: int = 0
    approved_media: tuple[MediaRef, ...] = ()
    available: ReleaseAvailable | None = None
    refusals: list[str] = field(default_factory=list)

    def open(self, name: str, release_version: str) -> list[LibraryEntryEvent]:
        """Open the entry of a newly planned release; opening it again decides nothing."""
        if self.exists:
            return []
        return [LibraryEntryOpened(release_id=self.release_id, name=name, version=release_version)]

    def note_validated(self, revision: int) -> list[LibraryEntryEvent]:
        if revision <= self.validated_revision:
            return []
        return [PackageValidated(release_id=self.release_id, package_revision=revision)]

    def note_approved(self, revision: int, media: Iterable[MediaRef]) -> list[LibraryEntryEvent]:
        if revision <= self.approved_revision:
            return []
        return [
            PackageApproved(
                release_id=self.release_id, package_revision=revision, media=list(media)
            )
        ]

    @property
    def due(self) -> bool:
        """Validated and approved, the same package, and not yet made available."""
        return (
            self.approved_revision > 0
            and self.validated_revision == self.approved_revision
            and (self.available is None or self.available.package_revision < self.approved_revision)
        )

    def check_package(self, held: Mapping[tuple[str, str], Media]) -> list[str]:
        """Why the approved package cannot be made available; empty when it can."""
        reasons = []
        for ref in self.approved_media:
            media = held.get((ref.name, ref.version))
            if media is None or not media.exists:
                reasons.append(f"{ref.name}@{ref.version} is not in the library")
            elif media.sha256 != ref.sha256:
                reasons.append(
                    f"{ref.name}@{ref.version} has sha256 {media.sha256}, not {ref.sha256}"
                )
            elif media.state is MediaState.REVOKED:
                reasons.append(f"{ref.name}@{ref.version} is revoked")
        return reasons

    def manifest_items(self, held: Mapping[tuple[str, str], Media]) -> list[ManifestItem]:
        return [
            ManifestItem(
                name=r.name, version=r.version, sha256=r.sha256, size=held[(r.name, r.version)].size
            )
            for r in self.approved_media
        ]

    def refuse(self, reasons: list[str]) -> list[LibraryEntryEvent]:
        return [
            ReleaseAvailabilityRefused(
                release_id=self.release_id, package_revision=self.approved_revision, reasons=reasons
            )
        ]

    def make_available(self, signed: SignedManifest) -> list[LibraryEntryEvent]:
        return [
            ReleaseAvailable(
                release_id=self.release_id,
                package_revision=self.approved_revision,
                manifest=signed.manifest,
                signature=signed.signature,
                key_id=signed.key_id,
            )
        ]

    def revoke(self, reason: str) -> list[LibraryEntryEvent]:
        """Withdraw the release: its entry, and (the caller revokes them) its media."""
        if self.state is EntryState.REVOKED:
            raise InvalidTransition(self.release_id, str(self.state), "revoke")
        return [
            ReleaseRevoked(
                release_id=self.release_id, reason=reason, media=list(self.approved_media)
            )
        ]

    def _evolve(self, event: LibraryEntryEvent) -> None:
        match event:
            case LibraryEntryOpened():
                self.state = EntryState.OPEN
                self.name = event.name
                self.release_version = event.version
            case PackageValidated():
                self.validated_revision = event.package_revision
            case PackageApproved():
                self.approved_revision = event.package_revision
                self.approved_media = tuple(event.media)
            case ReleaseAvailable():
                self.state = EntryState.AVAILABLE
                self.available = event
            case ReleaseAvailabilityRefused():
                self.refusals = event.reasons
            case ReleaseRevoked():
                self.state = EntryState.REVOKED
