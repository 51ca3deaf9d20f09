"""The approval handler on the in-memory event store and read models: what it reads (the
freezes in force, the media the DML holds), what it appends, and that a refusal appends
nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from ferry.envelope import Meta
from ferry.errors import ConcurrencyError
from ferry.events.release import DeploymentWindow, Level, Outcome
from ferry.freezes import FreezePeriod
from ferry.testing import InMemoryUnitOfWork
from release_svc.domain.commands import (
    Approve,
    AssessRisk,
    BuildPackage,
    PlanRelease,
    RecordValidation,
    SetBackoutPlan,
    SetWindows,
)
from release_svc.domain.lifecycle import Status
from release_svc.domain.policy import DEFAULTS, RulesUnmet
from release_svc.domain.release import Release
from release_svc.handlers import releases as handlers
from release_svc.testing import InMemoryViews
from tests.support.releases import MANAGER, MEDIA, TESTER

META = Meta(actor="carl", correlation_id="c-1")
AS_MANAGER = (MANAGER, InMemoryViews())
WINDOW = DeploymentWindow(
    environment="production",
    start=datetime(2026, 12, 10, 22, tzinfo=UTC),
    end=datetime(2026, 12, 11, 2, tzinfo=UTC),
)


async def validated(uow: InMemoryUnitOfWork) -> Release:
    """A minor release packaged by bob, validated by tess, with a backout plan, a low risk
    and a window."""
    planned = PlanRelease(
        uuid4(), "Payments", "2026.12", date(2026, 12, 1), date(2026, 12, 20),
        release_manager="rita", identifier="REL-2026-0001", owners=frozenset({"bob"}),
    )  # fmt: skip
    release = await handlers.plan_release(planned, uow, META)
    backout = SetBackoutPlan(release.id, ["error rate over 5%"], ["switch back"], by="rita")
    release = await handlers.change(
        uow, release.id, release.version, META, lambda r: r.set_backout_plan(backout), *AS_MANAGER
    )
    risk = AssessRisk(release.id, Level.LOW, Level.LOW, ["payments"], [], by="rita")
    release = await handlers.change(
        uow, release.id, release.version, META, lambda r: r.assess_risk(risk), *AS_MANAGER
    )
    windows = SetWindows(release.id, [WINDOW], by="rita")
    release = await handlers.set_windows(windows, release.version, uow, META, [], {}, *AS_MANAGER)
    build = BuildPackage(release.id, [MEDIA], by="bob")
    release = await handlers.build_package(build, release.version, uow, META, {MEDIA}, *AS_MANAGER)
    for kind in sorted(DEFAULTS[release.release_type].required_validations):
        result = RecordValidation(
            release.id, kind, Outcome.PASSED, "https://ci.example/1", by="tess"
        )
        release = await handlers.record_validation(
            result, release.version, uow, META, TESTER, InMemoryViews()
        )
    assert release.status is Status.VALIDATED
    return release


def approve(release: Release) -> Approve:
    return Approve(release.id, "RFC-7", by="carl")


async def test_an_approval_the_rules_allow_is_appended_and_approves_the_release() -> None:
    uow = InMemoryUnitOfWork()
    release = await validated(uow)
    before = len(uow.events.published)
    views = InMemoryViews(library={MEDIA})
    approved = await handlers.approve(approve(release), release.version, uow, views, META)
    appended = [e.type for e in uow.events.published[before:]]
    assert appended == ["ApprovalGiven", "ReleaseApproved"]
    assert approved.status is Status.APPROVED


async def test_media_the_library_does_not_hold_refuse_the_approval_and_nothing_is_appended() -> (
    None
):
    uow = InMemoryUnitOfWork()
    release = await validated(uow)
    before = len(uow.events.published)
    with pytest.raises(RulesUnmet, match="media-in-library"):
        await handlers.approve(approve(release), release.version, uow, InMemoryViews(), META)
    assert len(uow.events.published) == before


async def test_a_freeze_in_force_over_the_window_refuses_the_approval() -> None:
    uow = InMemoryUnitOfWork()
    release = await validated(uow)
    freeze = FreezePeriod(
        uuid4(), datetime(2026, 12, 10, tzinfo=UTC), datetime(2026, 12, 12, tzinfo=UTC), "audit"
    )
    views = InMemoryViews(freezes=[freeze], library={MEDIA})
    with pytest.raises(RulesUnmet, match="freeze: the production window falls in"):
        await handlers.approve(approve(release), release.version, uow, views, META)


async def test_an_approval_at_a_stale_version_is_refused() -> None:
    uow = InMemoryUnitOfWork()
    release = await validated(uow)
    views = InMemoryViews(library={MEDIA})
    with pytest.raises(ConcurrencyError):
        await handlers.approve(approve(release), release.version - 1, uow, views, META)


async def test_a_change_tools_approval_is_taken_at_whatever_version_the_release_is() -> None:
    uow = InMemoryUnitOfWork()
    release = await validated(uow)
    views = InMemoryViews(library={MEDIA})
    approved = await handlers.approve(approve(release), None, uow, views, META)
    assert approved.status is Status.APPROVED
