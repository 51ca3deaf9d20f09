"""Releases in a given state, built by deciding and applying, as the service does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import uuid4

from ferry.events.release import (
    ImprovementAction,
    Level,
    MediaRef,
    Outcome,
    ReleaseEvent,
    ReleaseType,
    ValidationKind,
)
from ferry.freezes import FreezePeriod
from ferry.grants import Acting, Grant
from release_svc.domain.commands import (
    ApprovalContext,
    Approve,
    AssessRisk,
    BuildPackage,
    PlanRelease,
    RecordValidation,
    Review,
    SetBackoutPlan,
)
from release_svc.domain.policy import DEFAULTS, Policy
from release_svc.domain.release import Release


def acting(role: str, team: str | None = None) -> Acting:
    """A caller holding `role` (for `team`, or everywhere) and acting with it."""
    return Acting(frozenset({Grant(role, team)}), frozenset({role}))


MANAGER = acting("release-manager")
"""A release manager of every team."""
TESTER = acting("tester")

MEDIA = MediaRef(name="payments.tar.gz", version="2026.12.0", sha256="a" * 64)

R = TypeVar("R", bound=Release)


def applied(release: R, events: Sequence[ReleaseEvent]) -> R:
    for event in events:
        release.apply(event)
    return release


@dataclass
class Recorded(Release):
    """A release that keeps the events applied to it: its stream, to store as it is."""

    history: list[ReleaseEvent] = field(default_factory=list)

    def apply(self, event: Any) -> None:
        self.history.append(event)
        super().apply(event)


def planned(
    release_type: ReleaseType = ReleaseType.MINOR,
    manager: str = "rita",
    kind: type[Release] = Release,
    identifier: str = "REL-2026-0001",
    team: str | None = None,
    risk: Level | None = Level.LOW,
) -> Release:
    """Planned by `manager`, its risk assessed as `risk` (both likelihood and impact; None:
    not assessed), as a policy asks before approval."""
    release_id = uuid4()
    cmd = PlanRelease(
        release_id,
        "Payments",
        "2026.12.0",
        date(2026, 12, 1),
        date(2026, 12, 20),
        release_manager=manager,
        identifier=identifier,
        team=team,
        release_type=release_type,
        owners=frozenset({"bob"}),
    )
    release = kind(release_id)
    applied(release, release.plan(cmd))
    if risk is None:
        return release
    assessment = AssessRisk(release_id, risk, risk, ["payments"], ["canary first"], by=manager)
    return applied(release, release.assess_risk(assessment))


def with_backout(release: R) -> R:
    cmd = SetBackoutPlan(release.id, ["error rate over 5%"], ["switch back"], by="rita")
    return applied(release, release.set_backout_plan(cmd))


def packaged(release: R, by: str = "bob") -> R:
    """Packaged by bob, one of the release's owners."""
    cmd = BuildPackage(release.id, [MEDIA], by=by)
    return applied(release, release.build_package(cmd, {MEDIA}))


def with_result(
    release: R, kind: ValidationKind, outcome: Outcome = Outcome.PASSED, by: str = "tess"
) -> R:
    cmd = RecordValidation(release.id, kind, outcome, "https://ci.example/report/1", by=by)
    return applied(release, release.record_validation(cmd, policy_of(release)))


def validated(release: R) -> R:
    for kind in sorted(policy_of(release).required_validations):
        release = with_result(release, kind)
    return release


def approved_by(release: R, approver: str, policy: Policy | None = None) -> R:
    cmd = Approve(release.id, "RFC-1", by=approver)
    return applied(release, release.approve(cmd, context(release, policy)))


def context(
    release: Release, policy: Policy | None = None, freezes: Sequence[FreezePeriod] = ()
) -> ApprovalContext:
    """What an approval of `release` is judged against: the DML holds its package."""
    library = set(release.package.media) if release.package else set()
    return ApprovalContext(policy or policy_of(release), freezes, library)


def policy_of(release: Release) -> Policy:
    return DEFAULTS[release.release_type]


def ready_to_approve(release_type: ReleaseType = ReleaseType.MINOR) -> Release:
    return validated(packaged(with_backout(planned(release_type))))


def available(identifier: str = "REL-2026-0001", team: str | None = None) -> Recorded:
    """A minor release approved by carl, its package available in the DML; its `history` is
    its whole stream."""
    release = planned(kind=Recorded, identifier=identifier, team=team)
    assert isinstance(release, Recorded)
    release = approved_by(validated(packaged(with_backout(release))), "carl")
    applied(release, release.made_available())
    return release


def awaiting_review(identifier: str = "REL-2026-0001", team: str | None = None) -> Recorded:
    """As `available`, then deployed to production and out of Early Life Support."""
    release = available(identifier, team)
    applied(release, release.deployed("production", uuid4()))
    applied(release, release.early_life_support_started("production"))
    applied(release, release.early_life_support_ended("production", policy_of(release)))
    return release


def reviewed(
    actions: Sequence[ImprovementAction], identifier: str = "REL-2026-0001", team: str | None = None
) -> Recorded:
    """As `awaiting_review`, then reviewed by rita, raising `actions`."""
    release = awaiting_review(identifier, team)
    review = Review(
        release.id,
        objectives_met=True,
        deployment_outcome="deployed in the window",
        incidents_during_els=0,
        went_well=["canary"],
        to_improve=["earlier comms"],
        actions=actions,
        by="rita",
    )
    applied(release, release.conduct_review(review))
    return release
