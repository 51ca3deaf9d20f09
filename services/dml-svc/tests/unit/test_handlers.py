"""dml-svc's consumer handler on the in-memory event store."""

from __future__ import annotations

import hashlib

from dml_svc.domain.media import Blob, MediaState, StageMedia
from dml_svc.handlers import library as handlers
from dml_svc.testing import InMemoryViews
from ferry.aggregate import record
from ferry.envelope import Meta
from ferry.events.dml import MediaKind
from ferry.events.release import MediaRef
from ferry.testing import InMemoryUnitOfWork, envelope_for, release_planned

META = Meta("lib", "test")


async def test_a_planned_release_opens_one_library_entry_caused_by_it() -> None:
    event = release_planned()
    envelope = envelope_for(event, correlation_id="c-9")
    uow = InMemoryUnitOfWork()
    for _ in range(2):  # the domain, too, opens an entry once
        await handlers.on_release_planned(event, envelope, uow)
    [opened] = uow.events.published
    assert opened.type == "LibraryEntryOpened"
    assert (opened.correlationid, opened.causationid) == ("c-9", str(envelope.id))
    entry = await handlers.get_entry(uow, event.release_id)
    assert (entry.name, entry.release_version, str(entry.state)) == ("Payments", "1.0", "open")


def stage(name: str) -> StageMedia:
    blob = Blob(hashlib.sha256(name.encode()).hexdigest(), 8)
    return StageMedia(name, "1.0.0", blob, MediaKind.SOFTWARE, "application/gzip", "")


async def test_each_change_to_a_media_item_reaches_the_media_list() -> None:
    uow, views = InMemoryUnitOfWork(), InMemoryViews()
    media, new = await handlers.stage_media(stage("payments.tar.gz"), uow, views, META)
    assert new
    assert views.media[media.id].version == 1
    # Found by a download or a scrub, not through an API change: listed all the same.
    await handlers.record_corruption(
        uow, views, "payments.tar.gz", "1.0.0", "0" * 64, "scrub", META
    )
    assert views.media[media.id].version == 2
    revoked = await handlers.revoke_media(uow, views, "payments.tar.gz", "1.0.0", "CVE", 2, META)
    assert views.media[media.id] == revoked
    assert views.media[media.id].state is MediaState.REVOKED


async def test_revoking_a_release_lists_each_of_its_media_revoked() -> None:
    uow, views = InMemoryUnitOfWork(), InMemoryViews()
    event = release_planned()
    await handlers.on_release_planned(event, envelope_for(event), uow)
    staged = [(await handlers.stage_media(stage(n), uow, views, META))[0] for n in ("a", "b")]
    entry = await handlers.get_entry(uow, event.release_id)
    approved = [MediaRef(name=m.name, version=m.media_version, sha256=m.sha256) for m in staged]
    entry_stream = handlers.stream_id(event.release_id)
    await record(uow.events, entry_stream, entry, entry.note_approved(1, approved), META)
    _, revoked = await handlers.revoke_release(
        uow, views, event.release_id, "withdrawn", entry.version, META
    )
    assert {m.id for m in revoked} == {m.id for m in staged}
    assert all(views.media[m.id].state is MediaState.REVOKED for m in staged)
