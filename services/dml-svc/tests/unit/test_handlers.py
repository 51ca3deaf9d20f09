"""dml-svc's consumer handler on the in-memory event store."""

from __future__ import annotations

from dml_svc.handlers import library as handlers
from ferry.testing import InMemoryUnitOfWork, envelope_for, release_planned


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
