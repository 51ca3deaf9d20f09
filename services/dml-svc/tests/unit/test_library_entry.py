from __future__ import annotations

from uuid import uuid4

from dml_svc.domain.library import EntryState, LibraryEntry


def test_a_planned_release_opens_its_library_entry_once() -> None:
    entry = LibraryEntry(uuid4())
    opened = entry.open("Payments", "1.0")
    assert len(opened) == 1
    entry = LibraryEntry.replay(entry.release_id, opened)
    assert entry.state is EntryState.OPEN
    assert entry.open("Payments", "1.0") == []
