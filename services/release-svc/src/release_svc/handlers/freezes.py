"""Command handlers of freeze periods: load the freeze, let it decide, append what it decided.
The caller commits. Declaring a freeze changes no release: the schedule flags those it covers.
"""

from __future__ import annotations

from uuid import UUID

from ferry.aggregate import at_version, existing, rebuild, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.events.governance import GovernedKind
from ferry.events.policy import FreezeEvent, FreezePeriodLifted
from ferry.eventstore import WithEvents
from ferry.freezes import FreezePeriod
from ferry.governance import Change, Proposal
from release_svc.domain.freezes import Freeze
from release_svc.projections import freezes as freeze_projection


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


async def lift_change(
    freeze_id: UUID, reason: str, expected_version: int, uow: WithEvents
) -> Change:
    """The governance change that would lift a freeze, if it is still at
    `expected_version`: proposed, it is lifted once another person holding
    `change-authority` approves (`FreezePeriodLifted` then)."""
    stream = stream_id(freeze_id)
    missing = f"no freeze {freeze_id}"
    freeze = await at_version(
        uow.events, stream, Freeze(freeze_id), FreezeEvent, missing, expected_version
    )
    (lifted,) = freeze.lift(reason)
    return Change(GovernedKind.FREEZE_LIFT, stream, freeze.version, lifted, reason)


async def freeze_lifted(uow: UnitOfWork, proposal: Proposal) -> None:
    """An approved lift is recorded: the freezes' table follows."""
    change = proposal.change
    assert change is not None
    assert isinstance(change.effect, FreezePeriodLifted)
    # Read after the lift's append, which the read flushes: the freeze as now lifted.
    await freeze_projection.save(uow, await get_freeze(uow, change.effect.freeze_id))
