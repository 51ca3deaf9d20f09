"""A release's state: the fields its events set, how each event sets them, and the checks
the planning and control decisions share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from ferry.errors import Forbidden, InvalidTransition
from ferry.events.release import (
    Activity,
    ApprovalGiven,
    BackoutPlanSet,
    BackoutStep,
    BackoutTrigger,
    CommunicationEntry,
    CommunicationPlanSet,
    DeploymentWindow,
    DeploymentWindowsSet,
    ImprovementActionProgressed,
    ImprovementActionRaised,
    ImprovementActionReassigned,
    Level,
    MediaRef,
    Milestone,
    Outcome,
    ReadinessConfirmed,
    ReadinessItem,
    ReleaseApproved,
    ReleaseCancelled,
    ReleaseClosed,
    ReleaseDependenciesSet,
    ReleaseDeployed,
    ReleaseEvent,
    ReleaseInEarlyLifeSupport,
    ReleaseMadeAvailable,
    ReleaseMilestoneReached,
    ReleasePackageBuilt,
    ReleasePlanned,
    ReleaseReadyForReview,
    ReleaseRejected,
    ReleaseRescheduled,
    ReleaseReviewed,
    ReleaseScopeSet,
    ReleaseType,
    ReleaseValidated,
    ReleaseValidationFailed,
    RiskAssessed,
    ScopeItem,
    ScopeKind,
    Span,
    TeamAgreementGiven,
    ValidationKind,
    ValidationResultRecorded,
)
from ferry.eventsourced import EventSourced
from ferry.freezes import FreezePeriod
from release_svc.domain import lifecycle, plan, readiness
from release_svc.domain.actions import Action
from release_svc.domain.freezes import covering
from release_svc.domain.lifecycle import Status
from release_svc.domain.readiness import Confirmation


def services_of(scope: Iterable[ScopeItem]) -> frozenset[str]:
    """The names of the services a scope includes."""
    return frozenset(item.name for item in scope if item.kind is ScopeKind.SERVICE)


class NotTheReleaseManager(Forbidden):
    """Only a release's manager or owners may change its plan."""


@dataclass(frozen=True)
class Package:
    revision: int
    media: tuple[MediaRef, ...]
    built_by: str


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    evidence: str
    tester: str


@dataclass(frozen=True)
class Risk:
    likelihood: Level
    impact: Level
    level: Level
    affected_services: tuple[str, ...]
    mitigations: tuple[str, ...]


@dataclass(frozen=True)
class BackoutPlan:
    trigger_conditions: tuple[BackoutTrigger, ...]
    steps: tuple[BackoutStep, ...]


@dataclass(frozen=True)
class Reschedule:
    """One move of the release's dates, kept as history."""

    planned_start: date
    planned_end: date
    activities: Mapping[Activity, Span]
    reason: str


@dataclass
class ReleaseState(EventSourced):
    """A release's state as its events tell it, with the checks its decisions share.
    `version` is its stream version (the ETag)."""

    id: UUID
    version: int = 0
    status: Status | None = None
    name: str = ""
    release_version: str = ""
    planned_start: date | None = None
    planned_end: date | None = None
    activities: dict[Activity, Span] = field(default_factory=dict)
    reschedules: list[Reschedule] = field(default_factory=list)
    release_manager: str = ""
    identifier: str = ""
    release_type: ReleaseType = ReleaseType.MINOR
    description: str = ""
    owners: frozenset[str] = frozenset()
    team: str | None = None
    escalation_contact: str = ""
    depends_on: frozenset[UUID] = frozenset()
    scope: tuple[ScopeItem, ...] = ()
    windows: tuple[DeploymentWindow, ...] = ()
    freeze_override: str = ""
    overridden_freezes: frozenset[UUID] = frozenset()
    communication_plan: tuple[CommunicationEntry, ...] = ()
    risk: Risk | None = None
    backout_plan: BackoutPlan | None = None
    package: Package | None = None
    results: dict[ValidationKind, Result] = field(default_factory=dict)
    """Latest result of each kind, on the current package."""
    testers: frozenset[str] = frozenset()
    """Everyone who recorded a result on the current package, superseded ones included."""
    team_agreements: dict[str, str] = field(default_factory=dict)
    """Team → the release manager who agreed for it, to the current scope."""
    approvals: dict[str, str] = field(default_factory=dict)
    """Approver → RFC, for the current package."""
    rfc: str = ""
    deployed_to: frozenset[str] = frozenset()
    in_els: frozenset[str] = frozenset()
    review: ReleaseReviewed | None = None
    actions: dict[UUID, Action] = field(default_factory=dict)
    """The review's improvement actions, in the order raised."""
    actual: dict[Milestone, datetime] = field(default_factory=dict)
    """When each milestone of what happens first happened (`ACTUAL_MILESTONES`)."""
    readiness: dict[ReadinessItem, Confirmation] = field(default_factory=dict)
    """The readiness items confirmed, with their latest evidence."""
    readiness_required: frozenset[ReadinessItem] | None = None
    """What its approval said must be ready before production (deploy-svc holds it to
    that); None before approval, when the policy in force says."""

    @property
    def readiness_open(self) -> list[ReadinessItem]:
        """What its approval said must be ready before production and is not confirmed;
        nothing before approval."""
        return sorted((self.readiness_required or frozenset()) - self.readiness.keys())

    def readiness_needed(self, policy_items: Iterable[ReadinessItem]) -> set[ReadinessItem]:
        """What must be ready: as approved, or else by the policy's items now."""
        if self.readiness_required is not None:
            return set(self.readiness_required)
        return readiness.required(policy_items, self.scope)

    @property
    def services(self) -> frozenset[str]:
        """The services the release changes, from its scope."""
        return services_of(self.scope)

    @property
    def planned(self) -> Span | None:
        if self.planned_start is None or self.planned_end is None:
            return None
        return Span(start=self.planned_start, end=self.planned_end)

    def due_at(self, entry: CommunicationEntry) -> datetime | None:
        """When a communication falls due by the plan as it now is."""
        planned = self.planned
        if planned is None:
            return None
        return plan.due_at(entry, planned, self.activities, self.windows, self.actual)

    def _frozen_windows(
        self, windows: Sequence[DeploymentWindow], freezes: Sequence[FreezePeriod]
    ) -> list[tuple[int, FreezePeriod]]:
        return [
            (i, freeze)
            for i, window in enumerate(windows)
            for freeze in covering(freezes, window, self.services)
        ]

    # --- Checks ------------------------------------------------------------------------

    def _check_state(self, action: str, allowed: Set[Status]) -> None:
        if self.status not in allowed:
            raise InvalidTransition(self.id, str(self.status), action)

    def _manages(self, subject: str) -> bool:
        return subject == self.release_manager or subject in self.owners

    def _check_manager(self, subject: str) -> None:
        if not self._manages(subject):
            raise NotTheReleaseManager(
                f"only the release's manager, {self.release_manager}, or its owners may "
                "change its plan"
            )

    def _check_plan_changeable(self, subject: str, action: str) -> None:
        """A plan changes until the release is deployed, at the hands of its manager or
        owners."""
        self._check_state(action, lifecycle.BEFORE_DEPLOYMENT)
        self._check_manager(subject)

    # --- Evolution ---------------------------------------------------------------------

    def _evolve(self, event: ReleaseEvent) -> None:
        match event:
            case ReleasePlanned():
                self.status = Status.PLANNED
                self.name = event.name
                self.release_version = event.version
                self.planned_start = event.planned_start
                self.planned_end = event.planned_end
                self.activities = dict(event.activities)
                self.release_manager = event.release_manager
                self.identifier = event.identifier
                self.release_type = event.release_type
                self.description = event.description
                self.owners = frozenset(event.owners)
                self.escalation_contact = event.escalation_contact
                self.team = event.team
            case ReleaseRescheduled():
                self.reschedules.append(
                    Reschedule(
                        event.planned_start, event.planned_end, event.activities, event.reason
                    )
                )
                self.planned_start = event.planned_start
                self.planned_end = event.planned_end
                self.activities = dict(event.activities)
            case ReleaseCancelled():
                self.status = Status.CANCELLED
            case ReleaseDependenciesSet():
                self.depends_on = frozenset(event.depends_on)
            case ReleaseScopeSet():
                self.scope = tuple(event.items)
                self.team_agreements = {}  # each team agreed to the scope as it was
            case TeamAgreementGiven():
                self.team_agreements[event.team] = event.by
            case DeploymentWindowsSet():
                self.windows = tuple(event.windows)
                self.freeze_override = event.freeze_override
                self.overridden_freezes = frozenset(event.overridden_freezes)
            case CommunicationPlanSet():
                self.communication_plan = tuple(event.entries)
            case RiskAssessed():
                self.risk = Risk(
                    event.likelihood,
                    event.impact,
                    event.risk_level,
                    tuple(event.affected_services),
                    tuple(event.mitigations),
                )
            case BackoutPlanSet():
                self.backout_plan = BackoutPlan(tuple(event.trigger_conditions), tuple(event.steps))
            case ReleasePackageBuilt():
                self.package = Package(event.revision, tuple(event.media), event.built_by)
                self.results = {}
                self.testers = frozenset()
                self.approvals = {}
                self.status = Status.PACKAGE_BUILT
            case ValidationResultRecorded():
                self.results[event.kind] = Result(event.outcome, event.evidence, event.tester)
                self.testers |= {event.tester}
            case ReleaseValidated():
                self.status = Status.VALIDATED
            case ReleaseValidationFailed():
                self.status = Status.VALIDATION_FAILED
                self.approvals = {}  # whoever approved before the failure approved other facts
            case ApprovalGiven():
                self.approvals[event.approver] = event.rfc
            case ReleaseApproved():
                self.status = Status.APPROVED
                self.rfc = event.rfc
                self.readiness_required = frozenset(event.readiness)
            case ReleaseRejected():
                self.status = Status.REJECTED
                self.approvals = {}
            case ReleaseMadeAvailable():
                self.status = Status.AVAILABLE
            case ReleaseDeployed():
                self.deployed_to |= {event.environment}
                if self.status in lifecycle.DEPLOYABLE:
                    self.status = Status.DEPLOYED
            case ReleaseInEarlyLifeSupport():
                self.in_els |= {event.environment}
                if self.status in lifecycle.DEPLOYED_STATES:
                    self.status = Status.IN_EARLY_LIFE_SUPPORT
            case ReleaseReadyForReview():
                self.in_els -= {event.environment}
                if self.status is Status.IN_EARLY_LIFE_SUPPORT and not self.in_els:
                    self.status = Status.READY_FOR_REVIEW
            case ReleaseReviewed():
                self.review = event
                self.status = Status.CLOSED
            case ReleaseClosed():
                self.status = Status.CLOSED
            case ImprovementActionRaised():
                self.actions[event.action.action_id] = Action.raised(event.action)
            case ImprovementActionProgressed():
                action = self.actions[event.action_id]
                self.actions[event.action_id] = action.moved(event.state, event.note)
            case ImprovementActionReassigned():
                action = self.actions[event.action_id]
                self.actions[event.action_id] = action.reassigned(event.owner, event.due)
            case ReleaseMilestoneReached():
                self.actual.setdefault(event.milestone, event.at)
            case ReadinessConfirmed():
                self.readiness[event.item] = Confirmation(event.evidence, event.by)
