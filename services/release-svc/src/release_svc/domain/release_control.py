"""Controlling a release: its package, the validation and approval gates with their
segregation of duties, what other services report, and the review."""

from __future__ import annotations

from collections.abc import Set
from datetime import datetime
from uuid import UUID

from ferry.errors import Conflict
from ferry.events.policy import SegregationRule
from ferry.events.release import (
    ApprovalGiven,
    CommunicationDue,
    ImprovementActionRaised,
    MediaRef,
    Milestone,
    Outcome,
    ReadinessConfirmed,
    ReleaseApproved,
    ReleaseClosed,
    ReleaseDeployed,
    ReleaseEvent,
    ReleaseInEarlyLifeSupport,
    ReleaseMadeAvailable,
    ReleaseMilestoneReached,
    ReleasePackageBuilt,
    ReleaseReadyForReview,
    ReleaseRejected,
    ReleaseReviewed,
    ReleaseType,
    ReleaseValidated,
    ReleaseValidationFailed,
    TeamAgreementGiven,
    ValidationResultRecorded,
)
from release_svc.domain import lifecycle, readiness
from release_svc.domain.commands import (
    AgreeForTeam,
    ApprovalContext,
    Approve,
    BuildPackage,
    ConfirmReadiness,
    RecordValidation,
    Reject,
    Review,
)
from release_svc.domain.lifecycle import Status
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.policy import Policy, RulesUnmet, SegregationOfDuties
from release_svc.domain.release_state import ReleaseState
from release_svc.domain.review_draft import planned_els_days


class ReleaseControl(ReleaseState):
    """The decisions on a release's package and its way through validation, approval,
    deployment and review."""

    def build_package(self, cmd: BuildPackage, known: Set[MediaRef]) -> list[ReleaseEvent]:
        """`known`: the media the DML has announced and not revoked."""
        self._check_manager(cmd.by)
        self._check_state("build the package of", lifecycle.PACKAGE_MAY_CHANGE)
        if not cmd.media:
            raise InvalidPlan("media", "a package holds at least one media item")
        for i, media in enumerate(cmd.media):
            if media not in known:
                raise InvalidPlan(
                    f"media.{i}",
                    f"the DML has no {media.name}@{media.version} with sha256 {media.sha256}",
                )
        if len({(m.name, m.version) for m in cmd.media}) < len(cmd.media):
            raise InvalidPlan("media", "lists one media item twice")
        revision = self.package.revision + 1 if self.package else 1
        return [
            ReleasePackageBuilt(
                release_id=self.id, revision=revision, media=list(cmd.media), built_by=cmd.by
            )
        ]

    def record_validation(self, cmd: RecordValidation, policy: Policy) -> list[ReleaseEvent]:
        self._check_state("record validation of", lifecycle.UNDER_VALIDATION)
        assert self.package is not None  # every state under validation has a package
        if (
            policy.enforces(SegregationRule.BUILDER_CANNOT_VALIDATE)
            and cmd.by == self.package.built_by
        ):
            raise SegregationOfDuties(
                SegregationRule.BUILDER_CANNOT_VALIDATE,
                f"{cmd.by} built this package and so may not validate it",
            )
        if policy.enforces(SegregationRule.TESTER_CANNOT_APPROVE) and cmd.by in self.approvals:
            # The other order of the same pair: an approver who then tests has done both.
            raise SegregationOfDuties(
                SegregationRule.TESTER_CANNOT_APPROVE,
                f"{cmd.by} approved this package and so may not validate it",
            )
        self._check_one_gate(cmd.by, "validate", policy)
        revision = self.package.revision
        new: list[ReleaseEvent] = [
            ValidationResultRecorded(
                release_id=self.id,
                package_revision=revision,
                kind=cmd.kind,
                outcome=cmd.outcome,
                evidence=cmd.evidence,
                tester=cmd.by,
            )
        ]
        required = policy.validations_for(self.risk.level if self.risk else None)
        if cmd.kind not in required:
            return new
        if cmd.outcome is Outcome.FAILED:
            new.append(
                ReleaseValidationFailed(
                    release_id=self.id, package_revision=revision, failed=[cmd.kind]
                )
            )
            return new
        passed = {k for k, r in self.results.items() if r.outcome is Outcome.PASSED} | {cmd.kind}
        if required <= passed and self.status is not Status.VALIDATED:
            new.append(
                ReleaseValidated(
                    release_id=self.id,
                    package_revision=revision,
                    kinds=sorted(required),
                )
            )
        return new

    def agree_for_team(self, cmd: AgreeForTeam, owning: Set[str]) -> list[ReleaseEvent]:
        """`owning`: the teams owning the release's services. The caller has checked that
        `cmd.by` manages releases for `cmd.team`."""
        self._check_state("agree to", lifecycle.PACKAGE_MAY_CHANGE)
        if cmd.team not in owning:
            owners = ", ".join(sorted(owning)) or "none"
            raise InvalidPlan(
                "team", f"{cmd.team} owns none of the release's services (their teams: {owners})"
            )
        if cmd.team in self.team_agreements:
            return []
        return [
            TeamAgreementGiven(release_id=self.id, team=cmd.team, by=cmd.by, comment=cmd.comment)
        ]

    def approve(self, cmd: Approve, context: ApprovalContext) -> list[ReleaseEvent]:
        policy = context.policy
        self._check_state("approve", {Status.VALIDATED})
        assert self.package is not None
        if (
            policy.enforces(SegregationRule.BUILDER_CANNOT_APPROVE)
            and cmd.by == self.package.built_by
        ):
            raise SegregationOfDuties(
                SegregationRule.BUILDER_CANNOT_APPROVE,
                f"{cmd.by} built this package and so may not approve it",
            )
        if (
            policy.enforces(SegregationRule.PLANNER_CANNOT_APPROVE)
            and cmd.by == self.release_manager
        ):
            raise SegregationOfDuties(
                SegregationRule.PLANNER_CANNOT_APPROVE,
                f"{cmd.by} planned this release as its manager and so may not approve it",
            )
        if policy.enforces(SegregationRule.TESTER_CANNOT_APPROVE) and cmd.by in self.testers:
            raise SegregationOfDuties(
                SegregationRule.TESTER_CANNOT_APPROVE,
                f"{cmd.by} recorded a validation of this package and so may not approve it",
            )
        if (
            policy.enforces(SegregationRule.EMERGENCY_REQUESTER_CANNOT_APPROVE_ALONE)
            and self.release_type is ReleaseType.EMERGENCY
            and cmd.by == self.release_manager
            and not self.approvals.keys() - {cmd.by}
        ):
            raise SegregationOfDuties(
                SegregationRule.EMERGENCY_REQUESTER_CANNOT_APPROVE_ALONE,
                f"{cmd.by} requested this emergency change; another approver must approve first",
            )
        if cmd.by in self.approvals:
            raise Conflict(f"{cmd.by} has already approved this package")
        self._check_one_gate(cmd.by, "approve", policy)
        self._check_approval_rules(context)
        new: list[ReleaseEvent] = [
            ApprovalGiven(
                release_id=self.id,
                approver=cmd.by,
                rfc=cmd.rfc,
                source=cmd.source,
                comment=cmd.comment,
            )
        ]
        approvers = [*self.approvals, cmd.by]
        risk = self.risk.level if self.risk else None
        if len(approvers) >= policy.approvers_needed(risk):
            rule = policy.rule_for(risk)
            new.append(
                ReleaseApproved(
                    release_id=self.id,
                    rfc=cmd.rfc,
                    approvers=approvers,
                    package_revision=self.package.revision,
                    media=list(self.package.media),
                    segregation=sorted(policy.segregation),
                    built_by=self.package.built_by,
                    validated_by=sorted(self.testers),
                    readiness=sorted(readiness.required(policy.readiness, self.scope)),
                    risk_level=risk,
                    risk_rule=rule.as_rule() if rule else None,
                )
            )
        return new

    def _gates_of(self, subject: str) -> list[str]:
        """The gates of the current package `subject` has filled; deploying comes later,
        and deploy-svc judges it."""
        assert self.package is not None
        gates = {
            "build": subject == self.package.built_by,
            "validate": subject in self.testers,
            "approve": subject in self.approvals,
        }
        return [gate for gate, filled in gates.items() if filled]

    def _check_one_gate(self, subject: str, gate: str, policy: Policy) -> None:
        if not policy.enforces(SegregationRule.ONE_GATE_PER_PERSON):
            return
        if others := [g for g in self._gates_of(subject) if g != gate]:
            raise SegregationOfDuties(
                SegregationRule.ONE_GATE_PER_PERSON,
                f"{subject} filled the {' and '.join(others)} gate of this package "
                f"and so may not {gate} it too",
            )

    def _check_approval_rules(self, context: ApprovalContext) -> None:
        assert self.package is not None
        policy, unmet = context.policy, list[tuple[str, str]]()
        passed = {k for k, r in self.results.items() if r.outcome is Outcome.PASSED}
        risk = self.risk.level if self.risk else None
        if policy.risk_assessment_required and self.risk is None:
            unmet.append(("risk-assessment-required", "the release's risk is not assessed"))
        if missing := sorted(policy.validations_for(risk) - passed):
            # The policy may have changed since the release was validated.
            kinds = ", ".join(missing)
            unmet.append(("required-validations", f"not passed on this package: {kinds}"))
        if len(context.owning_teams) > 1 and (
            waiting := sorted(set(context.owning_teams) - self.team_agreements.keys())
        ):
            teams = ", ".join(waiting)
            unmet.append(("team-agreement", f"the release spans teams; {teams} not agreed yet"))
        if policy.backout_plan_required and self.backout_plan is None:
            unmet.append(("backout-plan-required", "the release has no backout plan"))
        for media in self.package.media:
            if media not in context.library:
                unmet.append(
                    ("media-in-library", f"{media.name}@{media.version} is revoked or unknown")
                )
        for i, freeze in self._frozen_windows(self.windows, context.freezes):
            if freeze.freeze_id not in self.overridden_freezes:
                window = self.windows[i]
                unmet.append(
                    ("freeze", f"the {window.environment} window falls in {freeze.describe()}")
                )
        if unmet:
            raise RulesUnmet(unmet)

    def reject(self, cmd: Reject) -> list[ReleaseEvent]:
        self._check_state("reject", lifecycle.UNDER_VALIDATION)
        return [
            ReleaseRejected(
                release_id=self.id,
                rfc=cmd.rfc,
                rejected_by=cmd.by,
                reason=cmd.reason,
                source=cmd.source,
            )
        ]

    # --- Readiness before go-live ------------------------------------------------------

    def confirm_readiness(self, cmd: ConfirmReadiness) -> list[ReleaseEvent]:
        """Record `cmd.item` ready, by its confirming role, until the release is closed;
        confirmed again with the same evidence, nothing changes."""
        self._check_state("confirm readiness of", lifecycle.OPEN)
        readiness.check_confirmer(cmd.item, cmd.roles)
        evidence = cmd.evidence.strip()
        if self.readiness.get(cmd.item) == readiness.Confirmation(evidence, cmd.by):
            return []
        return [ReadinessConfirmed(release_id=self.id, item=cmd.item, evidence=evidence, by=cmd.by)]

    # --- What other services report -------------------------------------------------
    # Facts, not requests: they are recorded whatever the state, so the release's history
    # matches what happened; the state follows where the lifecycle allows.

    def made_available(self) -> list[ReleaseEvent]:
        return (
            [] if self.status is not Status.APPROVED else [ReleaseMadeAvailable(release_id=self.id)]
        )

    def deployed(self, environment: str, deployment_id: UUID) -> list[ReleaseEvent]:
        return [
            ReleaseDeployed(
                release_id=self.id, environment=environment, deployment_id=deployment_id
            )
        ]

    def early_life_support_started(self, environment: str) -> list[ReleaseEvent]:
        return [ReleaseInEarlyLifeSupport(release_id=self.id, environment=environment)]

    def early_life_support_ended(self, environment: str, policy: Policy) -> list[ReleaseEvent]:
        if environment not in self.in_els:
            return []
        new: list[ReleaseEvent] = [
            ReleaseReadyForReview(release_id=self.id, environment=environment)
        ]
        last = self.in_els == {environment} and self.status is Status.IN_EARLY_LIFE_SUPPORT
        if not policy.review_required and last:
            new.append(ReleaseClosed(release_id=self.id, reason="its policy requires no review"))
        return new

    def milestone_reached(
        self, milestone: Milestone, environment: str, at: datetime
    ) -> list[ReleaseEvent]:
        """Something a communication may be timed from happened; only the first time
        counts."""
        if milestone in self.actual:
            return []
        return [
            ReleaseMilestoneReached(
                release_id=self.id, milestone=milestone, environment=environment, at=at
            )
        ]

    def communication_due(self, entry_id: str, due_at: datetime) -> list[ReleaseEvent]:
        """Announce a communication entry as due, if the plan still has it."""
        for entry in self.communication_plan:
            if entry.entry_id == entry_id:
                return [CommunicationDue(release_id=self.id, entry=entry, due_at=due_at)]
        return []

    # --- Review ------------------------------------------------------------------------

    def conduct_review(self, cmd: Review) -> list[ReleaseEvent]:
        self._check_manager(cmd.by)
        self._check_state("review", {Status.READY_FOR_REVIEW})
        return [
            ReleaseReviewed(
                release_id=self.id,
                objectives_met=cmd.objectives_met,
                deployment_outcome=cmd.deployment_outcome,
                incidents_during_els=cmd.incidents_during_els,
                els_duration_days=cmd.els_duration_days,
                els_planned_days=planned_els_days(self),
                went_well=list(cmd.went_well),
                to_improve=list(cmd.to_improve),
                actions=list(cmd.actions),
                reviewed_by=cmd.by,
                els_escalations=cmd.els_escalations,
                feedback_count=cmd.feedback_count,
                satisfaction=cmd.satisfaction,
            ),
            *(ImprovementActionRaised(release_id=self.id, action=a) for a in cmd.actions),
        ]
