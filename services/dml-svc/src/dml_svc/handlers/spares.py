"""Command handlers of the Definitive Hardware Store: load a spare, let it decide, append."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from uuid import UUID

from dml_svc.domain.spares import RegisterSpare, Spare
from dml_svc.handlers.views import LibraryViews
from ferry.aggregate import at_version, existing, record
from ferry.envelope import Meta
from ferry.events.dml import SpareEvent
from ferry.eventstore import WithEvents
from ferry.grants import Acting
from ferry.teams import Owned

Decision = Callable[[Spare], list[SpareEvent]]


def stream_id(spare_id: UUID) -> str:
    return f"{SpareEvent.stream_prefix}-{spare_id}"


def _missing(spare_id: UUID) -> str:
    return f"the hardware store has no spare {spare_id}"


async def get_spare(uow: WithEvents, spare_id: UUID) -> Spare:
    return await existing(
        uow.events, stream_id(spare_id), Spare(spare_id), SpareEvent, _missing(spare_id)
    )


async def register_spare(
    cmd: RegisterSpare, uow: WithEvents, views: LibraryViews, meta: Meta, live: Mapping[str, str]
) -> Spare:
    """Register a spare → `SpareRegistered`, then `SpareRevisionOutOfDate` for each CI it
    replaces whose revision in live (`live`, by CI) is already newer than the spare's."""
    spare = Spare(cmd.spare_id)
    stream = stream_id(spare.id)
    await record(uow.events, stream, spare, spare.register(cmd), meta)
    for item in spare.replaces:
        if (revision := live.get(item)) is not None:
            await record(uow.events, stream, spare, spare.note_live_revision(item, revision), meta)
    await views.save_spare(spare)
    return spare


async def change_spare(
    uow: WithEvents,
    views: LibraryViews,
    spare_id: UUID,
    expected_version: int,
    meta: Meta,
    decide: Decision,
    acting: Acting | None,
) -> Spare:
    """Let the spare, as the caller read it (its `If-Match`), decide; append what it did.
    `acting` must act for the team owning each configuration item the spare replaces
    (None: no team to check, for the librarian's settlements, held everywhere).

    Two callers deciding on the same version race for the same stream version: one appends,
    the other gets `ConcurrencyError` (409), so two withdrawals never both take the last unit.
    """
    spare = await at_version(
        uow.events,
        stream_id(spare_id),
        Spare(spare_id),
        SpareEvent,
        _missing(spare_id),
        expected_version,
    )
    if acting is not None:
        if not spare.replaces:
            acting.on((), f"spare {spare_id}, which replaces no configuration item")
        for item in spare.replaces:
            owner = await views.owner(Owned.CONFIGURATION_ITEM, item)
            acting.on(owner, f"configuration item {item}")
    await record(uow.events, stream_id(spare_id), spare, decide(spare), meta)
    await views.save_spare(spare)
    return spare


async def note_live_revision(
    uow: WithEvents,
    views: LibraryViews,
    spare_id: UUID,
    configuration_item: str,
    live_revision: str,
    meta: Meta,
) -> tuple[Spare, bool]:
    """Flag the spare → `SpareRevisionOutOfDate` if `configuration_item` now runs a newer
    revision than it; True if it was flagged now."""
    spare = await get_spare(uow, spare_id)
    new = spare.note_live_revision(configuration_item, live_revision)
    await record(uow.events, stream_id(spare_id), spare, new, meta)
    if new:
        await views.save_spare(spare)
    return spare, bool(new)
