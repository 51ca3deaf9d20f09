"""release-svc's handlers on the in-memory event store: no database, no broker."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, NotFound
from ferry.testing import InMemoryUnitOfWork
from release_svc import handlers
from release_svc.domain.release import PlanRelease, RescheduleRelease

META = Meta(actor="alice", correlation_id="c-1")


def plan() -> PlanRelease:
    return PlanRelease(
        uuid4(),
        "Payments",
        "2026.12",
        date(2026, 12, 1),
        date(2026, 12, 5),
        release_manager="rita",
        identifier="REL-2026-0001",
    )


async def test_planning_appends_release_planned_with_who_and_why() -> None:
    uow = InMemoryUnitOfWork()
    release = await handlers.plan_release(plan(), uow, META)
    [stored] = uow.events.published
    assert stored.type == "ReleasePlanned"
    assert (stored.subject, stored.streamversion) == (str(release.id), 1)
    assert (stored.actor, stored.correlationid) == ("alice", "c-1")


async def test_rescheduling_at_the_version_read_moves_the_dates() -> None:
    uow = InMemoryUnitOfWork()
    release = await handlers.plan_release(plan(), uow, META)
    move = RescheduleRelease(
        release.id, date(2026, 12, 8), date(2026, 12, 9), "late supplier", by="rita"
    )
    moved = await handlers.reschedule_release(move, 1, uow, META)
    assert (moved.version, moved.planned_start) == (2, date(2026, 12, 8))
    reloaded = await handlers.get_release(uow, release.id)
    assert reloaded == moved


async def test_rescheduling_at_a_stale_version_is_refused_and_changes_nothing() -> None:
    uow = InMemoryUnitOfWork()
    release = await handlers.plan_release(plan(), uow, META)
    move = RescheduleRelease(release.id, date(2026, 12, 8), date(2026, 12, 9), "late", by="rita")
    await handlers.reschedule_release(move, 1, uow, META)
    with pytest.raises(ConcurrencyError):
        await handlers.reschedule_release(move, 1, uow, META)
    assert len(uow.events.published) == 2


async def test_an_unknown_release_is_not_found() -> None:
    with pytest.raises(NotFound):
        await handlers.get_release(InMemoryUnitOfWork(), uuid4())
