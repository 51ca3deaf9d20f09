"""A release's life from plan to closed, and the transitions it refuses."""

from __future__ import annotations

import copy
from uuid import uuid4

import pytest

from ferry.errors import InvalidTransition
from ferry.events.release import (
    ImprovementAction,
    ImprovementActionRaised,
    MediaRef,
    Outcome,
    ReleaseApproved,
    ReleaseClosed,
    ReleaseValidated,
    ReleaseValidationFailed,
    ValidationKind,
)
from release_svc.domain.commands import (
    Approve,
    BuildPackage,
    CancelRelease,
    RecordValidation,
    Reject,
    Review,
)
from release_svc.domain.lifecycle import Status
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.policy import DEFAULTS, Policy
from tests.support.releases import (
    MEDIA,
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

FUNCTIONAL, INTEGRATION = ValidationKind.FUNCTIONAL, ValidationKind.INTEGRATION


def test_a_release_goes_from_plan_to_closed() -> None:
    release = ready_to_approve()
    assert release.status is Status.VALIDATED
    release = approved_by(release, "carl")
    assert release.status is Status.APPROVED
    release = applied(release, release.made_available())
    assert release.status is Status.AVAILABLE
    release = applied(release, release.deployed("production", uuid4()))
    assert (release.status, release.deployed_to) == (Status.DEPLOYED, {"production"})
    release = applied(release, release.early_life_support_started("production"))
    assert release.status is Status.IN_EARLY_LIFE_SUPPORT
    release = applied(
        release, release.early_life_support_ended("production", DEFAULTS[release.release_type])
    )
    assert release.status is Status.READY_FOR_REVIEW
    action = ImprovementAction(action_id=uuid4(), description="automate the smoke test")
    review = Review(release.id, True, "smooth", 0, ["comms"], ["tests"], [action], by="rita")
    decided = release.conduct_review(review)
    assert isinstance(decided[-1], ImprovementActionRaised)
    assert applied(release, decided).status is Status.CLOSED


def test_validation_passes_once_every_required_kind_has_passed() -> None:
    release = packaged(with_backout(planned()))
    release = with_result(release, FUNCTIONAL)
    assert release.status is Status.PACKAGE_BUILT
    release = with_result(release, ValidationKind.PERFORMANCE)  # not required for a minor release
    assert release.status is Status.PACKAGE_BUILT
    release = with_result(release, INTEGRATION)
    assert release.status is Status.VALIDATED


def test_a_required_kind_failing_fails_the_validation_and_a_retest_can_pass_it() -> None:
    release = packaged(planned())
    failed = with_result(release, FUNCTIONAL, Outcome.FAILED)
    assert failed.status is Status.VALIDATION_FAILED
    release = with_result(with_result(failed, FUNCTIONAL), INTEGRATION)
    assert release.status is Status.VALIDATED


def test_the_decisions_name_the_kinds() -> None:
    release = with_result(packaged(planned()), FUNCTIONAL)
    [_, done] = release.record_validation(
        RecordValidation(
            release.id, INTEGRATION, Outcome.PASSED, "https://ci.example/2", by="tess"
        ),
        DEFAULTS[release.release_type],
    )
    assert isinstance(done, ReleaseValidated)
    assert set(done.kinds) == {FUNCTIONAL, INTEGRATION}
    failed = packaged(planned())
    decided = failed.record_validation(
        RecordValidation(failed.id, FUNCTIONAL, Outcome.FAILED, "https://ci.example/3", by="tess"),
        DEFAULTS[failed.release_type],
    )
    assert isinstance(decided[-1], ReleaseValidationFailed)


def test_a_new_package_after_validation_invalidates_it() -> None:
    release = validated(packaged(planned()))
    other = MediaRef(name="payments.tar.gz", version="2026.12.1", sha256="b" * 64)
    release = applied(
        release, release.build_package(BuildPackage(release.id, [other], "rita"), {other})
    )
    assert release.status is Status.PACKAGE_BUILT
    assert release.results == {}
    assert release.package is not None
    assert release.package.revision == 2


def test_media_the_dml_has_not_announced_are_refused_naming_the_item() -> None:
    release = planned()
    unknown = MediaRef(name="evil.tar.gz", version="1", sha256="c" * 64)
    with pytest.raises(InvalidPlan) as refused:
        release.build_package(BuildPackage(release.id, [MEDIA, unknown], "rita"), {MEDIA})
    assert refused.value.field == "media.1"


def test_an_approved_package_cannot_change() -> None:
    release = approved_by(ready_to_approve(), "carl")
    with pytest.raises(InvalidTransition, match="approved"):
        release.build_package(BuildPackage(release.id, [MEDIA], "rita"), {MEDIA})


def test_approval_needs_a_validated_release_and_names_the_state() -> None:
    release = packaged(with_backout(planned()))
    with pytest.raises(InvalidTransition, match="package_built"):
        approved_by(release, "carl")


def test_a_rejected_release_may_be_packaged_again() -> None:
    release = ready_to_approve()
    release = applied(release, release.reject(Reject(release.id, "RFC-1", "too risky", "carl")))
    assert release.status is Status.REJECTED
    assert packaged(release).status is Status.PACKAGE_BUILT


def test_cancel_is_possible_until_deployed() -> None:
    release = approved_by(ready_to_approve(), "carl")
    cancel = CancelRelease(release.id, "business changed its mind", "rita")
    assert applied(copy.deepcopy(release), release.cancel(cancel)).status is Status.CANCELLED
    release = applied(release, release.made_available())
    release = applied(release, release.deployed("staging", uuid4()))
    with pytest.raises(InvalidTransition, match="deployed"):
        release.cancel(CancelRelease(release.id, "too late", "rita"))


def test_approval_records_the_package_for_the_dml() -> None:
    release = ready_to_approve()
    decided = release.approve(Approve(release.id, "RFC-9", by="carl"), context(release))
    approved = decided[-1]
    assert isinstance(approved, ReleaseApproved)
    assert (approved.rfc, approved.approvers, approved.media) == ("RFC-9", ["carl"], [MEDIA])


def test_a_policy_without_review_closes_the_release_when_support_ends() -> None:
    release = approved_by(ready_to_approve(), "carl")
    for events in (
        release.made_available(),
        release.deployed("production", uuid4()),
        release.early_life_support_started("production"),
    ):
        release = applied(release, events)
    no_review = Policy(release.release_type, frozenset(), review_required=False)
    decided = release.early_life_support_ended("production", no_review)
    assert isinstance(decided[-1], ReleaseClosed)
    assert applied(release, decided).status is Status.CLOSED


def test_review_waits_for_the_end_of_early_life_support() -> None:
    release = approved_by(ready_to_approve(), "carl")
    with pytest.raises(InvalidTransition, match="approved"):
        release.conduct_review(Review(release.id, True, "ok", 0, [], [], [], by="rita"))


@pytest.mark.parametrize("stop", ["cancelled", "closed", "never approved"])
def test_what_other_services_report_is_recorded_but_moves_no_finished_release(stop: str) -> None:
    if stop == "never approved":
        release = planned()
    else:
        release = approved_by(ready_to_approve(), "carl")
        release = applied(release, release.made_available())
        if stop == "cancelled":
            release = applied(release, release.cancel(CancelRelease(release.id, "x", "rita")))
        else:
            policy = DEFAULTS[release.release_type]
            release = applied(release, release.deployed("production", uuid4()))
            release = applied(release, release.early_life_support_started("production"))
            release = applied(release, release.early_life_support_ended("production", policy))
            review = Review(release.id, True, "ok", 0, [], [], [], by="rita")
            release = applied(release, release.conduct_review(review))
    before = release.status
    release = applied(release, release.deployed("production", uuid4()))
    release = applied(release, release.early_life_support_started("production"))
    assert release.status is before
    assert "production" in release.deployed_to
