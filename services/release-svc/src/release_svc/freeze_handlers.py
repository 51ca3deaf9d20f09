"""Command handlers of freeze periods: load the freeze, let it decide, append what it decided.
The caller commits. Declaring a freeze changes no release: the schedule flags those it covers.
"""

from __future__ import annotations

from uuid import UUID

from ferry.aggregate import at_version, existing, rebuild, record
from ferry.envelope import Meta
from ferry.events.policy import FreezeEvent
from ferry.eventstore import WithEvents
from release_svc.domain.freezes import Freeze, FreezePeriod


def stream_id(freeze_id: UUID) -> str:
    return f"{FreezeEvent.stream_prefix}-{freeze_id}"


async def load_freeze(uow: WithEvents, freeze_id: UUID) -> Freeze:
    """The freeze as its stream tells it; one never declared has version 0."""
    return await rebuild(uow.events, stream_id(freeze_id), Freeze(freeze_id), FreezeEvent)


async def get_freeze(uow: WithEvents, freeze_id: UUID) -> Freeze:
    stream = stream_id(freeze_id)
    return await existing(
        uow.events, stream, Freeze(freeze_id), FreezeEvent, f"no freeze {freeze_id}"
    )


async def declare_freeze(period: FreezePeriod, uow: WithEvents, meta: Meta) -> Freeze:
    """Declare a freeze period (appends `FreezePeriodDeclared`)."""
    freeze = await load_freeze(uow, period.freeze_id)
    return await record(uow.events, stream_id(freeze.id), freeze, freeze.declare(period), meta)


async def lift_freeze(
    freeze_id: UUID, reason: str, expected_version: int, uow: WithEvents, meta: Meta
) -> Freeze:
    """Lift a freeze, if it is still at `expected_version` (appends `FreezePeriodLifted`)."""
    freeze = await at_version(
        uow.events,
        stream_id(freeze_id),
        Freeze(freeze_id),
        FreezeEvent,
        f"no freeze {freeze_id}",
        expected_version,
    )
    return await record(uow.events, stream_id(freeze.id), freeze, freeze.lift(reason), meta)
