"""dml-svc's consumers of release-svc's events: once it has validated and approved the same
package, its media become definitive and a signed manifest announces it (`ReleaseAvailable`).
A planned release's entry is opened by `handlers.library.on_release_planned`."""

from __future__ import annotations

from datetime import UTC, datetime

from dml_svc.adapters.signing import Signer
from dml_svc.adapters.views import PostgresViews
from dml_svc.domain.library import LibraryEntry
from dml_svc.domain.media import Media
from dml_svc.handlers import library
from dml_svc.projections import approved_changes
from ferry.aggregate import record
from ferry.consuming import caused_by
from ferry.db import UnitOfWork
from ferry.envelope import Envelope, Meta
from ferry.events.release import ReleaseApproved, ReleaseValidated
from ferry.manifest import canonical


class Availability:
    """The consumer handlers that make approved packages available, signing with `signer`."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    async def on_release_validated(
        self, event: ReleaseValidated, envelope: Envelope, uow: UnitOfWork
    ) -> None:
        entry = await library.get_entry(uow, event.release_id)
        meta = caused_by(envelope, library.ACTOR)
        new = entry.note_validated(event.package_revision)
        await record(uow.events, library.stream_id(entry.release_id), entry, new, meta)
        await self._make_available_if_due(uow, entry, meta)

    async def on_release_approved(
        self, event: ReleaseApproved, envelope: Envelope, uow: UnitOfWork
    ) -> None:
        # The RFC counts for spare withdrawals even where the library holds no entry.
        await approved_changes.remember_release_approval(uow, event)
        entry = await library.load_entry(uow, event.release_id)
        if not entry.exists:
            return
        meta = caused_by(envelope, library.ACTOR)
        new = entry.note_approved(event.package_revision, event.media)
        await record(uow.events, library.stream_id(entry.release_id), entry, new, meta)
        await self._make_available_if_due(uow, entry, meta)

    async def _make_available_if_due(
        self, uow: UnitOfWork, entry: LibraryEntry, meta: Meta
    ) -> None:
        if not entry.due:
            return
        held: dict[tuple[str, str], Media] = {}
        for ref in entry.approved_media:
            held[(ref.name, ref.version)] = await library.load_media(uow, ref.name, ref.version)
        stream = library.stream_id(entry.release_id)
        if reasons := entry.check_package(held):
            await record(uow.events, stream, entry, entry.refuse(reasons), meta)
            return
        views = PostgresViews(uow)
        for media in held.values():
            await library.authorize_media(uow, views, media, entry.release_id, meta)
        text = canonical(
            entry.release_id, entry.release_version, entry.manifest_items(held), datetime.now(UTC)
        )
        available = entry.make_available(self._signer.sign(text))
        await record(uow.events, stream, entry, available, meta)
