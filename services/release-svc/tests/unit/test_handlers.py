"""release-svc's handlers on the in-memory event store: no database, no broker."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from uuid import uuid4

import pytest

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, NotFound
from ferry.events.release import Outcome, ReleaseType, ValidationKind
from ferry.governance import Change
from ferry.testing import InMemoryUnitOfWork
from release_svc.domain.commands import (
    BuildPackage,
    PlanRelease,
    RecordValidation,
    RescheduleRelease,
)
from release_svc.domain.lifecycle import Status
from release_svc.domain.policy import DEFAULTS
from release_svc.handlers import releases as handlers
from release_svc.testing import InMemoryViews
from tests.support.releases import MANAGER, MEDIA, TESTER

META = Meta(actor="alice", correlation_id="c-1")
AS_MANAGER = (MANAGER, InMemoryViews())


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
    moved = await handlers.change(
        uow, release.id, 1, META, lambda r: r.reschedule(move), *AS_MANAGER
    )
    assert (moved.version, moved.planned_start) == (2, date(2026, 12, 8))
    reloaded = await handlers.get_release(uow, release.id)
    assert reloaded == moved


async def test_rescheduling_at_a_stale_version_is_refused_and_changes_nothing() -> None:
    uow = InMemoryUnitOfWork()
    release = await handlers.plan_release(plan(), uow, META)
    move = RescheduleRelease(release.id, date(2026, 12, 8), date(2026, 12, 9), "late", by="rita")
    await handlers.change(uow, release.id, 1, META, lambda r: r.reschedule(move), *AS_MANAGER)
    with pytest.raises(ConcurrencyError):
        await handlers.change(uow, release.id, 1, META, lambda r: r.reschedule(move), *AS_MANAGER)
    assert len(uow.events.published) == 2


async def test_an_unknown_release_is_not_found() -> None:
    with pytest.raises(NotFound):
        await handlers.get_release(InMemoryUnitOfWork(), uuid4())


async def enact(change: Change | None, uow: InMemoryUnitOfWork) -> None:
    """What approving the change's proposal records (`ferry.proposals.approve`)."""
    assert change is not None
    await uow.events.append(change.subject, change.subject_version, [change.effect], META)


async def test_a_policy_is_the_default_until_set_and_then_versioned() -> None:
    uow = InMemoryUnitOfWork()
    default = await handlers.load_policy(uow, ReleaseType.MAJOR)
    assert (default.version, default.policy) == (0, DEFAULTS[ReleaseType.MAJOR])
    cab = replace(default.policy, approvers=2, high_risk_approvers=3)
    await enact(await handlers.policy_change(cab, 0, uow, "a CAB for majors"), uow)
    changed = await handlers.load_policy(uow, ReleaseType.MAJOR)
    assert (changed.version, changed.policy) == (1, cab)
    with pytest.raises(ConcurrencyError):
        await handlers.policy_change(default.policy, 0, uow, "back")


async def test_validation_follows_the_policy_in_force() -> None:
    uow = InMemoryUnitOfWork()
    release = await handlers.plan_release(plan(), uow, META)
    only_security = replace(
        DEFAULTS[ReleaseType.MINOR], required_validations=frozenset({ValidationKind.SECURITY})
    )
    await enact(await handlers.policy_change(only_security, 0, uow, "security only"), uow)
    release = await handlers.build_package(
        BuildPackage(release.id, [MEDIA], by="rita"), 1, uow, META, {MEDIA}, *AS_MANAGER
    )
    result = RecordValidation(
        release.id, ValidationKind.SECURITY, Outcome.PASSED, "https://ci.example/1", by="tess"
    )
    release = await handlers.record_validation(
        result, release.version, uow, META, TESTER, InMemoryViews()
    )
    assert release.status is Status.VALIDATED


async def test_planning_a_release_id_already_planned_appends_nothing() -> None:
    uow = InMemoryUnitOfWork()
    first = plan()
    await handlers.plan_release(first, uow, META)
    with pytest.raises(ConcurrencyError):
        await handlers.plan_release(replace(first, name="Another"), uow, META)
    assert len(uow.events.published) == 1
