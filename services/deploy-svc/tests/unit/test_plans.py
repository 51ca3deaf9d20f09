"""Each rule a deployment plan is judged by, refusing and letting through."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from deploy_svc.domain.environment import Environment
from deploy_svc.domain.facts import ReleaseFacts, RiskLimits, Window
from deploy_svc.domain.plans import (
    BelowRiskPolicy,
    NotDeployable,
    NotReady,
    Plan,
    SegregationOfDuties,
    check_production_gate,
    judge,
)
from ferry.errors import FerryError, InvalidField
from ferry.events.deploy import EnvironmentClass, EnvironmentDefined, Strategy, TargetSpec
from ferry.events.release import Level
from ferry.freezes import FreezePeriod
from ferry.manifest import SignedManifest

START = datetime(2026, 12, 10, 22, tzinfo=UTC)
DEPENDENCY = uuid4()


def production() -> Environment:
    environment = Environment("production")
    environment.apply(
        EnvironmentDefined(
            environment="production",
            production=True,
            targets=[
                TargetSpec(name="web-1", driver="local"),
                TargetSpec(name="web-2", driver="local"),
            ],
        )
    )
    return environment


RELEASE = ReleaseFacts(
    release_id=uuid4(),
    identifier="REL-2026-0001",
    version="2026.12.0",
    windows={"production": Window(START - timedelta(hours=1), START + timedelta(hours=3))},
    depends_on=frozenset({DEPENDENCY}),
    approvers=frozenset({"carl"}),
    segregation=frozenset({"approver-cannot-deploy-to-production"}),
    services=frozenset({"payments"}),
    available=SignedManifest("{}", "sig", "key"),
)
PLAN = Plan(RELEASE.release_id, "production", ["web-1", "web-2"], START, "dora")
FREEZE = FreezePeriod(uuid4(), START - timedelta(days=1), START + timedelta(days=1), "year end")


def check(
    plan: Plan = PLAN,
    release: ReleaseFacts | None = RELEASE,
    freezes: list[FreezePeriod] | None = None,
    deployed: frozenset[UUID] = frozenset({DEPENDENCY}),
    busy: dict[str, UUID] | None = None,
    environment: Environment | None = None,
) -> None:
    judge(
        plan,
        release,
        environment or production(),
        freezes or [],
        deployed,
        busy or {},
        {DEPENDENCY: "REL-2026-0000"},
    )


def test_a_plan_meeting_every_rule_is_accepted() -> None:
    check()


@pytest.mark.parametrize(
    ("change", "error", "says"),
    [
        ({"release": None}, InvalidField, "not heard"),
        ({"release": replace(RELEASE, cancelled=True)}, NotDeployable, "cancelled"),
        ({"release": replace(RELEASE, available=None)}, NotDeployable, "not available"),
        ({"release": replace(RELEASE, revoked=True)}, NotDeployable, "revoked"),
        ({"plan": replace(PLAN, start=START + timedelta(hours=4))}, InvalidField, "outside"),
        (
            {"plan": replace(PLAN, environment="staging"), "environment": Environment("staging")},
            InvalidField,
            "no environment",
        ),
        ({"plan": replace(PLAN, targets=["web-9"])}, InvalidField, "no target web-9"),
        ({"freezes": [FREEZE]}, NotDeployable, "year end"),
        ({"deployed": frozenset()}, NotDeployable, "REL-2026-0000"),
        ({"busy": {"web-2": UUID(int=7)}}, NotDeployable, "web-2"),
        ({"plan": replace(PLAN, by="carl")}, SegregationOfDuties, "approver-cannot-deploy"),
    ],
)
def test_each_rule_refuses_naming_why(
    change: dict[str, object], error: type[FerryError], says: str
) -> None:
    with pytest.raises(error, match=says):
        check(**change)  # type: ignore[arg-type]


def test_an_overridden_freeze_and_a_freeze_elsewhere_let_it_through() -> None:
    check(
        release=replace(RELEASE, overridden_freezes=frozenset({FREEZE.freeze_id})), freezes=[FREEZE]
    )
    staging_only = replace(FREEZE, environments=frozenset({"staging"}))
    other_service = replace(FREEZE, services=frozenset({"ledger"}))
    check(freezes=[staging_only, other_service])


def test_the_approver_rule_follows_the_policy_and_the_environment() -> None:
    carl = replace(PLAN, by="carl")
    check(plan=carl, release=replace(RELEASE, segregation=frozenset()))
    environment = production()
    environment.environment_class = EnvironmentClass.STAGING
    judge(carl, RELEASE, environment, [], frozenset({DEPENDENCY}), {}, {})


GATED = replace(
    RELEASE,
    built_by="bob",
    validated_by=frozenset({"tess"}),
    segregation=frozenset({"approver-cannot-deploy-to-production", "one-gate-per-person"}),
)


@pytest.mark.parametrize(("subject", "gate"), [("bob", "build"), ("tess", "validate")])
def test_whoever_built_or_validated_may_not_deploy_to_production(subject: str, gate: str) -> None:
    with pytest.raises(SegregationOfDuties, match=f"the {gate} gate") as refused:
        check(plan=replace(PLAN, by=subject), release=GATED)
    assert refused.value.rule == "one-gate-per-person"
    assert refused.value.status == 403


def test_one_gate_per_person_keeps_the_approver_out_without_the_approver_rule() -> None:
    release = replace(GATED, segregation=frozenset({"one-gate-per-person"}))
    with pytest.raises(SegregationOfDuties, match="approve gate") as refused:
        check(plan=replace(PLAN, by="carl"), release=release)
    assert refused.value.rule == "one-gate-per-person"


def test_one_gate_per_person_follows_the_policy_and_the_environment() -> None:
    check(plan=PLAN, release=GATED)  # dora filled no other gate
    bob = replace(PLAN, by="bob")
    check(plan=bob, release=replace(GATED, segregation=frozenset()))
    staging = production()
    staging.environment_class = EnvironmentClass.STAGING
    judge(bob, GATED, staging, [], frozenset({DEPENDENCY}), {}, {})
    # An approval stored before it named the builder names nobody.
    check(plan=replace(PLAN, by=""), release=replace(GATED, built_by=""))


def test_production_waits_until_the_approval_is_known() -> None:
    """The DML's ReleaseAvailable may arrive before release-svc's ReleaseApproved, which names
    who filled which gate: nothing is judged on nothing, in production."""
    unknown = replace(RELEASE, approvers=frozenset(), segregation=frozenset())
    with pytest.raises(NotDeployable, match="not yet heard who approved"):
        check(release=unknown)
    staging = Environment("staging")
    staging.apply(EnvironmentDefined(environment="staging", production=False, targets=[]))
    check_production_gate(unknown, staging, "carl")


def test_the_production_gate_follows_the_environment_as_it_is_now() -> None:
    """Judged again when a deployment starts: an environment made production since its plan
    keeps the release's approver out too."""
    check_production_gate(RELEASE, Environment("staging"), "carl")
    with pytest.raises(SegregationOfDuties):
        check_production_gate(RELEASE, production(), "carl")


def test_production_waits_for_every_readiness_item_its_approval_named() -> None:
    unready = replace(
        RELEASE, readiness_open=frozenset({"service_desk_briefed", "operations_acceptance"})
    )
    with pytest.raises(NotReady) as refused:
        check(release=unready)
    assert refused.value.open == ["operations_acceptance", "service_desk_briefed"]
    assert refused.value.extensions() == {"readiness": refused.value.open}
    assert "not ready for production" in str(refused.value)
    staging = Environment("staging")
    staging.apply(EnvironmentDefined(environment="staging", production=False, targets=[]))
    check_production_gate(unready, staging, "dora")
    check(release=replace(unready, readiness_open=frozenset()))


def test_a_production_plan_is_as_careful_as_the_releases_risk_asks() -> None:
    high = replace(RELEASE, risk=RiskLimits(Level.HIGH, Strategy.PHASED, min_soak_seconds=300))
    with pytest.raises(BelowRiskPolicy) as big_bang:
        check(plan=PLAN, release=high)
    assert (big_bang.value.rule, big_bang.value.field) == ("risk-least-strategy", "strategy.kind")
    assert "high risk" in str(big_bang.value)
    short = replace(PLAN, strategy=Strategy.CANARY, soak_seconds=60)
    with pytest.raises(BelowRiskPolicy) as soak:
        check(plan=short, release=high)
    assert soak.value.rule == "risk-min-soak"
    check(plan=replace(short, soak_seconds=300), release=high)  # canary is more careful still
    staging = production()
    staging.environment_class = EnvironmentClass.STAGING
    check(plan=PLAN, release=high, environment=staging)  # the rule binds production only
