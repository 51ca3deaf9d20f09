"""Approval under release policies, and the segregation-of-duties rules refusing and
allowing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import pytest

from ferry.errors import Conflict, InvalidField
from ferry.events.policy import SegregationRule
from ferry.events.release import (
    DeploymentWindow,
    Level,
    Outcome,
    ReleaseApproved,
    ReleaseType,
    ValidationKind,
    ValidationResultRecorded,
)
from ferry.events.strategy import Strategy
from ferry.freezes import FreezePeriod
from release_svc.domain.commands import Approve, AssessRisk, RecordValidation, SetWindows
from release_svc.domain.lifecycle import Status
from release_svc.domain.policy import (
    DEFAULTS,
    Policy,
    ReleasePolicy,
    RiskDemand,
    RulesUnmet,
    SegregationOfDuties,
)
from release_svc.domain.release import Release
from tests.support.releases import (
    applied,
    approved_by,
    context,
    packaged,
    planned,
    ready_to_approve,
    validated,
    with_backout,
    with_result,
)

MINOR = DEFAULTS[ReleaseType.MINOR]
_S = ValidationKind.SECURITY


def test_the_builder_may_not_validate_their_own_package() -> None:
    release = packaged(planned(), by="bob")
    cmd = RecordValidation(
        release.id, ValidationKind.FUNCTIONAL, Outcome.PASSED, "https://ci/1", by="bob"
    )
    with pytest.raises(SegregationOfDuties) as refused:
        release.record_validation(cmd, MINOR)
    assert refused.value.rule is SegregationRule.BUILDER_CANNOT_VALIDATE
    assert refused.value.status == 403
    # Someone else may; and a policy without the rule lets the builder.
    [by_tess] = release.record_validation(replace(cmd, by="tess"), MINOR)
    assert isinstance(by_tess, ValidationResultRecorded)
    lax = replace(MINOR, segregation=frozenset())
    [by_bob] = release.record_validation(cmd, lax)
    assert isinstance(by_bob, ValidationResultRecorded)


def test_the_builder_may_not_approve_their_own_package() -> None:
    release = validated(packaged(with_backout(planned()), by="bob"))
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "bob")
    assert refused.value.rule is SegregationRule.BUILDER_CANNOT_APPROVE
    assert approved_by(release, "carl").status is Status.APPROVED


def test_the_requester_of_an_emergency_change_may_not_approve_it_alone() -> None:
    # Under a policy that lets a planner approve at all (the default does not), the
    # emergency rule still keeps the requester from being the only approver.
    emergency = DEFAULTS[ReleaseType.EMERGENCY]
    lets_planners = replace(
        emergency, segregation=emergency.segregation - {SegregationRule.PLANNER_CANNOT_APPROVE}
    )
    release = ready_to_approve(ReleaseType.EMERGENCY)  # requested by rita, its manager
    assert release.package is not None
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "rita", lets_planners)
    assert refused.value.rule is SegregationRule.EMERGENCY_REQUESTER_CANNOT_APPROVE_ALONE
    # One other approver is the emergency path; with a two-approver policy, the requester
    # may be the second.
    assert approved_by(release, "carl", lets_planners).status is Status.APPROVED
    two = replace(lets_planners, approvers=2, high_risk_approvers=2)
    release = approved_by(ready_to_approve(ReleaseType.EMERGENCY), "carl", two)
    assert release.status is Status.VALIDATED
    assert approved_by(release, "rita", two).status is Status.APPROVED


def test_a_high_risk_release_needs_the_policys_high_risk_approvers() -> None:
    release = ready_to_approve()
    cmd = AssessRisk(release.id, Level.HIGH, Level.HIGH, ["payments"], ["canary"], by="rita")
    release = applied(release, release.assess_risk(cmd))
    release = approved_by(release, "carl")
    assert release.status is Status.VALIDATED
    assert list(release.approvals) == ["carl"]
    with pytest.raises(Conflict, match="already approved"):
        approved_by(release, "carl")
    decided = release.approve(Approve(release.id, "RFC-1", by="cora"), context(release))
    assert isinstance(decided[-1], ReleaseApproved)
    assert decided[-1].approvers == ["carl", "cora"]


def test_unmet_rules_are_each_named() -> None:
    release = validated(packaged(planned()))  # no backout plan
    window = DeploymentWindow(
        environment="production",
        start=datetime(2026, 12, 3, 22, tzinfo=UTC),
        end=datetime(2026, 12, 3, 23, tzinfo=UTC),
    )
    release = applied(
        release, release.set_windows(SetWindows(release.id, [window], "rita"), [], {})
    )
    freeze = FreezePeriod(
        uuid4(), datetime(2026, 12, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC), "year end"
    )
    with pytest.raises(RulesUnmet) as refused:
        approved_by_with_freezes(release, [freeze])
    rules = [rule for rule, _ in refused.value.unmet]
    assert rules == ["backout-plan-required", "freeze"]
    assert refused.value.status == 422


def approved_by_with_freezes(release: Release, freezes: list[FreezePeriod]) -> object:
    return release.approve(
        Approve(release.id, "RFC-1", by="carl"), context(release, MINOR, freezes)
    )


def test_approval_rechecks_the_policy_in_force_and_the_library() -> None:
    release = ready_to_approve()  # functional and integration passed
    stricter = replace(
        MINOR, required_validations=MINOR.required_validations | {ValidationKind.SECURITY}
    )
    with pytest.raises(RulesUnmet) as refused:
        release.approve(Approve(release.id, "RFC-1", by="carl"), context(release, stricter))
    assert refused.value.unmet[0][0] == "required-validations"
    assert "security" in refused.value.unmet[0][1]
    revoked = replace(context(release), library=set())
    with pytest.raises(RulesUnmet) as refused:
        release.approve(Approve(release.id, "RFC-1", by="carl"), revoked)
    assert [rule for rule, _ in refused.value.unmet] == ["media-in-library"]


def test_a_validation_failure_voids_earlier_approvals() -> None:
    release = ready_to_approve()
    cmd = AssessRisk(release.id, Level.HIGH, Level.HIGH, [], [], by="rita")
    release = applied(release, release.assess_risk(cmd))
    release = approved_by(release, "carl")  # one of the two a high risk needs
    failed = RecordValidation(
        release.id, ValidationKind.FUNCTIONAL, Outcome.FAILED, "https://ci/2", by="tess"
    )
    release = applied(release, release.record_validation(failed, MINOR))
    assert release.approvals == {}


def test_approval_carries_the_segregation_rules_for_deployment() -> None:
    release = ready_to_approve()
    [_, approved] = release.approve(Approve(release.id, "RFC-1", by="carl"), context(release))
    assert isinstance(approved, ReleaseApproved)
    assert "approver-cannot-deploy-to-production" in approved.segregation


@pytest.mark.parametrize(
    ("release_type", "change", "field"),
    [
        (ReleaseType.EMERGENCY, {"review_required": False}, "review_required"),
        (ReleaseType.MINOR, {"required_validations": frozenset()}, "required_validations"),
        (ReleaseType.MINOR, {"approvers": 3, "high_risk_approvers": 2}, "high_risk_approvers"),
    ],
)
def test_a_policy_that_would_break_its_path_is_refused(
    release_type: ReleaseType, change: dict[str, object], field: str
) -> None:
    aggregate = ReleasePolicy(release_type)
    with pytest.raises(InvalidField) as refused:
        aggregate.set(replace(DEFAULTS[release_type], **change))  # type: ignore[arg-type]
    assert refused.value.field == field


def without(*rules: SegregationRule) -> Policy:
    return replace(MINOR, segregation=MINOR.segregation - set(rules))


def test_the_defaults_enforce_every_rule() -> None:
    for policy in DEFAULTS.values():
        assert policy.segregation == frozenset(SegregationRule)


def test_the_planner_may_not_approve() -> None:
    release = ready_to_approve()  # planned by rita, its manager
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "rita")
    assert refused.value.rule is SegregationRule.PLANNER_CANNOT_APPROVE
    assert refused.value.status == 403
    assert approved_by(release, "rita", without(SegregationRule.PLANNER_CANNOT_APPROVE)).status is (
        Status.APPROVED
    )


def test_a_tester_may_not_approve_a_package_they_validated() -> None:
    release = ready_to_approve()  # tess recorded both results
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "tess")
    assert refused.value.rule is SegregationRule.TESTER_CANNOT_APPROVE
    # Without that rule, one gate per person still refuses; without both, tess may.
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "tess", without(SegregationRule.TESTER_CANNOT_APPROVE))
    assert refused.value.rule is SegregationRule.ONE_GATE_PER_PERSON
    lax = without(SegregationRule.TESTER_CANNOT_APPROVE, SegregationRule.ONE_GATE_PER_PERSON)
    assert approved_by(release, "tess", lax).status is Status.APPROVED


def test_a_superseded_or_failed_result_still_makes_its_tester_a_tester() -> None:
    release = packaged(with_backout(planned()))
    release = with_result(release, ValidationKind.FUNCTIONAL, Outcome.FAILED, by="tom")
    release = validated(release)  # tess passes both, replacing tom's failure
    assert release.status is Status.VALIDATED
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "tom")
    assert refused.value.rule is SegregationRule.TESTER_CANNOT_APPROVE


def test_an_approver_may_not_then_validate() -> None:
    release = ready_to_approve()
    cmd = AssessRisk(release.id, Level.HIGH, Level.HIGH, [], [], by="rita")
    release = applied(release, release.assess_risk(cmd))
    release = approved_by(release, "carl")  # one of the two a high risk needs
    result = RecordValidation(
        release.id, ValidationKind.SECURITY, Outcome.PASSED, "https://ci/3", by="carl"
    )
    with pytest.raises(SegregationOfDuties) as refused:
        release.record_validation(result, MINOR)
    assert refused.value.rule is SegregationRule.TESTER_CANNOT_APPROVE
    with pytest.raises(SegregationOfDuties) as refused:
        release.record_validation(result, without(SegregationRule.TESTER_CANNOT_APPROVE))
    assert refused.value.rule is SegregationRule.ONE_GATE_PER_PERSON
    assert "approve gate" in str(refused.value)


def test_the_builder_is_kept_to_one_gate_by_its_own_rule_too() -> None:
    release = ready_to_approve()  # built by bob
    policy = without(SegregationRule.BUILDER_CANNOT_APPROVE)
    with pytest.raises(SegregationOfDuties) as refused:
        approved_by(release, "bob", policy)
    assert refused.value.rule is SegregationRule.ONE_GATE_PER_PERSON
    assert "build gate" in str(refused.value)
    release = packaged(with_backout(planned()))
    cmd = RecordValidation(
        release.id, ValidationKind.FUNCTIONAL, Outcome.PASSED, "https://ci/1", by="bob"
    )
    with pytest.raises(SegregationOfDuties) as refused:
        release.record_validation(cmd, without(SegregationRule.BUILDER_CANNOT_VALIDATE))
    assert refused.value.rule is SegregationRule.ONE_GATE_PER_PERSON


def test_a_new_package_starts_its_gates_afresh() -> None:
    release = ready_to_approve()  # tess validated revision 1
    release = packaged(release, by="bob")
    for kind in sorted(MINOR.required_validations):
        release = with_result(release, kind, by="tom")
    assert approved_by(release, "tess").status is Status.APPROVED


def test_approval_names_who_built_and_validated_for_deployment() -> None:
    release = packaged(with_backout(planned()))
    release = with_result(release, ValidationKind.FUNCTIONAL, by="tom")
    release = validated(release)
    [_, approved] = release.approve(Approve(release.id, "RFC-1", by="carl"), context(release))
    assert isinstance(approved, ReleaseApproved)
    assert approved.built_by == "bob"
    assert approved.validated_by == ["tess", "tom"]
    assert "one-gate-per-person" in approved.segregation


def test_an_approval_stored_before_the_gates_were_carried_still_reads() -> None:
    stored = {
        "type": "ReleaseApproved",
        "schema_version": 1,
        "release_id": str(uuid4()),
        "rfc": "RFC-1",
        "approvers": ["carl"],
        "package_revision": 1,
        "media": [],
    }
    event = ReleaseApproved.model_validate(stored)
    assert (event.built_by, event.validated_by) == ("", [])


def test_approval_waits_for_a_risk_assessment_but_for_patches() -> None:
    unassessed = validated(packaged(with_backout(planned(risk=None))))
    with pytest.raises(RulesUnmet) as refused:
        unassessed.approve(Approve(unassessed.id, "RFC-1", by="carl"), context(unassessed))
    assert [rule for rule, _ in refused.value.unmet] == ["risk-assessment-required"]
    patch = validated(packaged(with_backout(planned(ReleaseType.PATCH, risk=None))))
    assert approved_by(patch, "carl").status is Status.APPROVED
    lenient = replace(DEFAULTS[ReleaseType.MINOR], risk_assessment_required=False)
    assert approved_by(unassessed, "carl", lenient).status is Status.APPROVED


HIGH_RISK = RiskDemand(
    Level.HIGH, Strategy.CANARY, min_soak_seconds=600, validations=frozenset({_S})
)


def test_a_high_risk_release_passes_its_levels_validations_and_carries_its_rule() -> None:
    policy = replace(DEFAULTS[ReleaseType.MINOR], risk_rules=(HIGH_RISK,), high_risk_approvers=1)
    release = packaged(with_backout(planned(risk=Level.HIGH)))
    for kind in sorted(policy.required_validations):
        cmd = RecordValidation(release.id, kind, Outcome.PASSED, "https://ci/1", by="tess")
        applied(release, release.record_validation(cmd, policy))
    assert release.status is Status.PACKAGE_BUILT  # security is still to pass
    cmd = RecordValidation(release.id, _S, Outcome.PASSED, "https://ci/sec", by="tess")
    applied(release, release.record_validation(cmd, policy))
    assert release.status is Status.VALIDATED
    new = release.approve(Approve(release.id, "RFC-1", by="carl"), context(release, policy))
    [approval] = [e for e in new if isinstance(e, ReleaseApproved)]
    assert approval.risk_level is Level.HIGH
    assert approval.risk_rule == HIGH_RISK.as_rule()
    # A low-risk release of the same policy needs neither.
    low = approved_by(validated(packaged(with_backout(planned()))), "carl", policy)
    assert low.status is Status.APPROVED


def test_a_policy_has_one_rule_per_risk_level() -> None:
    twice = replace(DEFAULTS[ReleaseType.MINOR], risk_rules=(HIGH_RISK, HIGH_RISK))
    with pytest.raises(InvalidField, match="one rule per risk level"):
        ReleasePolicy(ReleaseType.MINOR).set(twice)
