"""Releases and teams, in the handlers on the in-memory event store and read models: whom
a release is planned for, whose services a team's release manager may put in scope, and a
release spanning teams waiting for each team's agreement before approval."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from ferry.envelope import Meta
from ferry.errors import Forbidden
from ferry.events.release import Level, Outcome, ScopeItem, ScopeKind
from ferry.grants import Acting, Grant, OutsideTeam
from ferry.testing import InMemoryUnitOfWork
from release_svc.domain.commands import (
    AgreeForTeam,
    Approve,
    AssessRisk,
    BuildPackage,
    PlanRelease,
    RecordValidation,
    RescheduleRelease,
    SetBackoutPlan,
    SetScope,
)
from release_svc.domain.lifecycle import Status
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.policy import DEFAULTS, RulesUnmet
from release_svc.domain.release import Release
from release_svc.handlers import releases as handlers
from release_svc.testing import InMemoryViews
from tests.support.releases import MANAGER, MEDIA, TESTER, acting

META = Meta(actor="rita", correlation_id="c-1")
VIEWS = InMemoryViews(library={MEDIA}, teams={"payments": {"payments-api"}, "identity": {"login"}})
PAYMENTS_RM = acting("release-manager", "payments")
IDENTITY_RM = acting("release-manager", "identity")


def services(*names: str) -> list[ScopeItem]:
    return [ScopeItem(kind=ScopeKind.SERVICE, name=name) for name in names]


async def plan(uow: InMemoryUnitOfWork, team: str | None = None, by: str = "rita") -> Release:
    cmd = PlanRelease(
        uuid4(), "Checkout", "2026.12", date(2026, 12, 1), date(2026, 12, 20),
        release_manager=by, identifier="REL-2026-0001", owners=frozenset({"bob"}), team=team,
    )  # fmt: skip
    return await handlers.plan_release(cmd, uow, META)


async def scoped(uow: InMemoryUnitOfWork, release: Release, *names: str, by: Acting) -> Release:
    cmd = SetScope(release.id, services(*names), by=release.release_manager)
    return await handlers.set_scope(cmd, release.version, uow, META, by, VIEWS)


async def test_a_team_release_manager_plans_for_its_own_team_by_default() -> None:
    assert await handlers.planned_for(None, PAYMENTS_RM, VIEWS) == "payments"
    assert await handlers.planned_for("payments", PAYMENTS_RM, VIEWS) == "payments"
    assert await handlers.planned_for(None, MANAGER, VIEWS) is None
    assert await handlers.planned_for("identity", MANAGER, VIEWS) == "identity"


async def test_planning_for_another_team_is_refused_naming_it() -> None:
    with pytest.raises(OutsideTeam) as refused:
        await handlers.planned_for("identity", PAYMENTS_RM, VIEWS)
    assert refused.value.owners == ["identity"]


async def test_a_release_manager_of_two_teams_names_one_and_an_unknown_team_is_refused() -> None:
    both = Acting(
        frozenset({Grant("release-manager", "payments"), Grant("release-manager", "identity")}),
        frozenset({"release-manager"}),
    )
    with pytest.raises(InvalidPlan, match="one of identity, payments"):
        await handlers.planned_for(None, both, VIEWS)
    with pytest.raises(InvalidPlan, match="no team billing"):
        await handlers.planned_for("billing", MANAGER, VIEWS)


async def test_a_team_release_manager_adds_its_own_services_only() -> None:
    uow = InMemoryUnitOfWork()
    release = await plan(uow, team="payments")
    release = await scoped(uow, release, "payments-api", by=PAYMENTS_RM)
    assert release.services == {"payments-api"}
    with pytest.raises(OutsideTeam, match="service login belongs to team identity") as refused:
        await scoped(uow, release, "payments-api", "login", by=PAYMENTS_RM)
    assert refused.value.owners == ["identity"]
    with pytest.raises(Forbidden, match="service ledger belongs to no team"):
        await scoped(uow, release, "payments-api", "ledger", by=PAYMENTS_RM)
    assert (await handlers.get_release(uow, release.id)).version == release.version


async def test_a_release_of_another_team_is_refused_to_a_team_release_manager() -> None:
    uow = InMemoryUnitOfWork()
    release = await plan(uow, team="payments", by="ivan")
    release = await scoped(uow, release, "payments-api", by=PAYMENTS_RM)
    move = RescheduleRelease(release.id, date(2026, 12, 2), date(2026, 12, 21), "late", by="ivan")
    with pytest.raises(OutsideTeam, match="release REL-2026-0001 belongs to team payments"):
        await handlers.change(
            uow, release.id, release.version, META, lambda r: r.reschedule(move), IDENTITY_RM, VIEWS
        )


async def validated_across_teams(uow: InMemoryUnitOfWork) -> Release:
    """Planned by a release manager of every team, changing a service of payments and one
    of identity; packaged and validated."""
    release = await plan(uow)
    release = await scoped(uow, release, "payments-api", "login", by=MANAGER)
    backout = SetBackoutPlan(release.id, ["errors"], ["switch back"], by="rita")
    release = await handlers.change(
        uow,
        release.id,
        release.version,
        META,
        lambda r: r.set_backout_plan(backout),
        MANAGER,
        VIEWS,
    )
    risk = AssessRisk(release.id, Level.LOW, Level.LOW, ["payments-api", "login"], [], by="rita")
    release = await handlers.change(
        uow, release.id, release.version, META, lambda r: r.assess_risk(risk), MANAGER, VIEWS
    )
    build = BuildPackage(release.id, [MEDIA], by="bob")
    release = await handlers.build_package(
        build, release.version, uow, META, {MEDIA}, MANAGER, VIEWS
    )
    for kind in sorted(DEFAULTS[release.release_type].required_validations):
        result = RecordValidation(release.id, kind, Outcome.PASSED, "https://ci/1", by="tess")
        release = await handlers.record_validation(
            result, release.version, uow, META, TESTER, VIEWS
        )
    return release


async def agree(uow: InMemoryUnitOfWork, release: Release, team: str, by: Acting) -> Release:
    cmd = AgreeForTeam(release.id, team, by=f"{team}-lead")
    return await handlers.agree_for_team(cmd, release.version, uow, META, by, VIEWS)


async def test_a_release_spanning_teams_is_approved_once_each_team_agreed() -> None:
    uow = InMemoryUnitOfWork()
    release = await validated_across_teams(uow)
    approval = Approve(release.id, "RFC-9", by="carl")
    with pytest.raises(
        RulesUnmet, match="team-agreement: the release spans teams; identity, payments not agreed"
    ):
        await handlers.approve(approval, release.version, uow, VIEWS, META)
    release = await agree(uow, release, "payments", PAYMENTS_RM)
    with pytest.raises(RulesUnmet, match="identity not agreed"):
        await handlers.approve(approval, release.version, uow, VIEWS, META)
    release = await agree(uow, release, "identity", IDENTITY_RM)
    assert release.team_agreements == {"payments": "payments-lead", "identity": "identity-lead"}
    approved = await handlers.approve(approval, release.version, uow, VIEWS, META)
    assert approved.status is Status.APPROVED


async def test_only_the_teams_own_release_manager_agrees_for_it() -> None:
    uow = InMemoryUnitOfWork()
    release = await validated_across_teams(uow)
    with pytest.raises(OutsideTeam, match="only a release manager of identity agrees"):
        await agree(uow, release, "identity", PAYMENTS_RM)
    with pytest.raises(OutsideTeam):
        await agree(uow, release, "identity", MANAGER)
    billing = acting("release-manager", "billing")
    with pytest.raises(InvalidPlan, match="billing owns none of the release's services"):
        await agree(uow, release, "billing", billing)


async def test_a_new_scope_asks_the_teams_again() -> None:
    uow = InMemoryUnitOfWork()
    release = await plan(uow)
    release = await scoped(uow, release, "payments-api", "login", by=MANAGER)
    release = await agree(uow, release, "payments", PAYMENTS_RM)
    again = await agree(uow, release, "payments", PAYMENTS_RM)
    assert again.version == release.version  # agreeing twice records nothing
    release = await scoped(uow, release, "login", "payments-api", by=MANAGER)
    assert release.team_agreements == {}
