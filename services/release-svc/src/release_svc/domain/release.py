"""The Release aggregate: decide on commands, evolve by events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

from ferry.aggregate import EventSourced
from ferry.errors import Conflict, Forbidden, InvalidTransition
from ferry.events.policy import SegregationRule
from ferry.events.release import (
    Activity,
    ApprovalGiven,
    ApprovalSource,
    BackoutPlanSet,
    CommunicationDue,
    CommunicationEntry,
    CommunicationPlanSet,
    DeploymentWindow,
    DeploymentWindowsSet,
    ImprovementAction,
    ImprovementActionRaised,
    Level,
    MediaRef,
    Milestone,
    Outcome,
    ReleaseApproved,
    ReleaseCancelled,
    ReleaseClosed,
    ReleaseDependenciesSet,
    ReleaseDeployed,
    ReleaseEvent,
    ReleaseInEarlyLifeSupport,
    ReleaseMadeAvailable,
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
    ValidationKind,
    ValidationResultRecorded,
)
from release_svc.domain import lifecycle, plan
from release_svc.domain.dependencies import find_cycle
from release_svc.domain.freezes import FreezePeriod, covering
from release_svc.domain.lifecycle import Status
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.policy import Policy, RulesUnmet, SegregationOfDuties


class NotTheReleaseManager(Forbidden):
    """Only a release's manager or owners may change its plan."""


class AlreadyPlanned(Conflict):
    """A release with this id exists already."""


class DependencyCycle(InvalidPlan):
    """The dependencies would close a cycle."""


@dataclass(frozen=True)
class PlanRelease:
    """Plan a new release."""

    release_id: UUID
    name: str
    version: str
    planned_start: date
    planned_end: date
    release_manager: str
    identifier: str
    release_type: ReleaseType = ReleaseType.MINOR
    description: str = ""
    owners: frozenset[str] = frozenset()
    escalation_contact: str = ""
    activities: Mapping[Activity, Span] = field(default_factory=dict)


@dataclass(frozen=True)
class RescheduleRelease:
    """Move a release's planned dates (and its activities')."""

    release_id: UUID
    planned_start: date
    planned_end: date
    reason: str
    by: str
    activities: Mapping[Activity, Span] = field(default_factory=dict)


@dataclass(frozen=True)
class SetDependencies:
    """Say which releases a release depends on."""

    release_id: UUID
    depends_on: frozenset[UUID]
    by: str


@dataclass(frozen=True)
class CancelRelease:
    """Call a release off."""

    release_id: UUID
    reason: str
    by: str


@dataclass(frozen=True)
class SetScope:
    release_id: UUID
    items: Sequence[ScopeItem]
    by: str


@dataclass(frozen=True)
class SetWindows:
    """Deployment windows; `freeze_override` is an emergency release's reason to deploy in a
    freeze."""

    release_id: UUID
    windows: Sequence[DeploymentWindow]
    by: str
    freeze_override: str = ""


@dataclass(frozen=True)
class PlannedCommunication:
    audience: str
    channel: str
    message: str
    milestone: Milestone
    offset: timedelta


@dataclass(frozen=True)
class SetCommunicationPlan:
    release_id: UUID
    entries: Sequence[PlannedCommunication]
    by: str


@dataclass(frozen=True)
class AssessRisk:
    release_id: UUID
    likelihood: Level
    impact: Level
    affected_services: Sequence[str]
    mitigations: Sequence[str]
    by: str


@dataclass(frozen=True)
class SetBackoutPlan:
    release_id: UUID
    trigger_conditions: Sequence[str]
    steps: Sequence[str]
    by: str


@dataclass(frozen=True)
class BuildPackage:
    """Declare the release's package: DML media by name, version and sha256."""

    release_id: UUID
    media: Sequence[MediaRef]
    by: str


@dataclass(frozen=True)
class RecordValidation:
    """A tester's result for one kind of validation of the current package."""

    release_id: UUID
    kind: ValidationKind
    outcome: Outcome
    evidence: str
    by: str


@dataclass(frozen=True)
class Approve:
    release_id: UUID
    rfc: str
    by: str
    comment: str = ""
    source: ApprovalSource = ApprovalSource.API


@dataclass(frozen=True)
class ApprovalContext:
    """What an approval is judged against besides the release itself."""

    policy: Policy
    freezes: Sequence[FreezePeriod]
    """The freezes in force."""
    library: Set[MediaRef]
    """Those of the package's media the DML holds and has not revoked."""


@dataclass(frozen=True)
class Reject:
    release_id: UUID
    rfc: str
    reason: str
    by: str
    source: ApprovalSource = ApprovalSource.API


@dataclass(frozen=True)
class Review:
    """The post-implementation review's findings; ELS timing comes from the release."""

    release_id: UUID
    objectives_met: bool
    deployment_outcome: str
    incidents_during_els: int
    went_well: Sequence[str]
    to_improve: Sequence[str]
    actions: Sequence[ImprovementAction]
    by: str
    els_duration_days: float | None = None


def _before_dependency(
    window: DeploymentWindow, dependency_windows: Mapping[str, Sequence[DeploymentWindow]]
) -> str | None:
    """Why `window` opens too early for a release it depends on, or None if it does not."""
    for dependency, theirs in dependency_windows.items():
        for their in theirs:
            if their.environment == window.environment and window.start < their.start:
                return (
                    f"{dependency}, which this release depends on, deploys to "
                    f"{window.environment} only from {their.start}"
                )
    return None


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
    trigger_conditions: tuple[str, ...]
    steps: tuple[str, ...]


@dataclass(frozen=True)
class Reschedule:
    """One move of the release's dates, kept as history."""

    planned_start: date
    planned_end: date
    activities: Mapping[Activity, Span]
    reason: str


@dataclass
class Release(EventSourced):
    """A release as its events tell it. `version` is its stream version (the ETag)."""

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
    approvals: dict[str, str] = field(default_factory=dict)
    """Approver → RFC, for the current package."""
    rfc: str = ""
    deployed_to: frozenset[str] = frozenset()
    in_els: frozenset[str] = frozenset()
    review: ReleaseReviewed | None = None

    @property
    def services(self) -> frozenset[str]:
        """The services the release changes, from its scope."""
        return frozenset(i.name for i in self.scope if i.kind is ScopeKind.SERVICE)

    @property
    def planned(self) -> Span | None:
        if self.planned_start is None or self.planned_end is None:
            return None
        return Span(start=self.planned_start, end=self.planned_end)

    # --- Planning ----------------------------------------------------------------------

    def plan(self, cmd: PlanRelease) -> list[ReleaseEvent]:
        if self.exists:
            raise AlreadyPlanned(f"release {self.id} is already planned")
        plan.check_dates(cmd.planned_start, cmd.planned_end, cmd.activities)
        return [
            ReleasePlanned(
                release_id=cmd.release_id,
                name=cmd.name,
                version=cmd.version,
                planned_start=cmd.planned_start,
                planned_end=cmd.planned_end,
                release_manager=cmd.release_manager,
                identifier=cmd.identifier,
                release_type=cmd.release_type,
                description=cmd.description,
                owners=sorted(cmd.owners),
                escalation_contact=cmd.escalation_contact,
                activities=dict(cmd.activities),
            )
        ]

    def reschedule(self, cmd: RescheduleRelease) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "reschedule")
        plan.check_dates(cmd.planned_start, cmd.planned_end, cmd.activities)
        new = (cmd.planned_start, cmd.planned_end, dict(cmd.activities))
        if new == (self.planned_start, self.planned_end, self.activities):
            return []
        return [
            ReleaseRescheduled(
                release_id=self.id,
                planned_start=cmd.planned_start,
                planned_end=cmd.planned_end,
                reason=cmd.reason,
                activities=dict(cmd.activities),
            )
        ]

    def set_dependencies(
        self,
        cmd: SetDependencies,
        graph: Mapping[UUID, Set[UUID]],
        names: Mapping[UUID, str],
        dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
    ) -> list[ReleaseEvent]:
        """`graph`: every other known release's dependencies; `names`: their identifiers;
        `dependency_windows`: the windows of the releases in `cmd`, by identifier."""
        self._check_plan_changeable(cmd.by, "change the dependencies of")
        if unknown := sorted(str(r) for r in cmd.depends_on - graph.keys() - {self.id}):
            raise InvalidPlan("depends_on", f"no such releases: {', '.join(unknown)}")
        if (cycle := find_cycle(self.id, cmd.depends_on, graph)) is not None:
            named = " → ".join(names.get(r, str(r)) for r in cycle)
            raise DependencyCycle("depends_on", f"would close the cycle {named}")
        for window in self.windows:
            if (early := _before_dependency(window, dependency_windows)) is not None:
                raise InvalidPlan("depends_on", f"this release's window is too early: {early}")
        if cmd.depends_on == self.depends_on:
            return []
        return [ReleaseDependenciesSet(release_id=self.id, depends_on=sorted(cmd.depends_on))]

    def set_scope(self, cmd: SetScope) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "change the scope of")
        if tuple(cmd.items) == self.scope:
            return []
        return [ReleaseScopeSet(release_id=self.id, items=list(cmd.items))]

    def set_windows(
        self,
        cmd: SetWindows,
        freezes: Sequence[FreezePeriod],
        dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
    ) -> list[ReleaseEvent]:
        """`dependency_windows`: per release it depends on (by identifier), its windows."""
        self._check_plan_changeable(cmd.by, "change the deployment windows of")
        seen: set[str] = set()
        for i, window in enumerate(cmd.windows):
            if window.end <= window.start:
                raise InvalidPlan(f"windows.{i}.end", "must be after start")
            if window.environment in seen:
                raise InvalidPlan(f"windows.{i}.environment", "one window per environment")
            seen.add(window.environment)
            if (early := _before_dependency(window, dependency_windows)) is not None:
                raise InvalidPlan(f"windows.{i}.start", early)
        frozen = self._frozen_windows(cmd.windows, freezes)
        overridden: set[UUID] = set()
        if frozen and not cmd.freeze_override:
            i, freeze = frozen[0]
            raise InvalidPlan(
                f"windows.{i}",
                f"falls in {freeze.describe()}; an emergency release may give a freeze_override",
            )
        if cmd.freeze_override:
            if self.release_type is not ReleaseType.EMERGENCY:
                raise InvalidPlan("freeze_override", "only an emergency release may override")
            overridden = {freeze.freeze_id for _, freeze in frozen}
        if tuple(cmd.windows) == self.windows and overridden == self.overridden_freezes:
            return []
        return [
            DeploymentWindowsSet(
                release_id=self.id,
                windows=list(cmd.windows),
                freeze_override=cmd.freeze_override if overridden else "",
                overridden_freezes=sorted(overridden),
            )
        ]

    def _frozen_windows(
        self, windows: Sequence[DeploymentWindow], freezes: Sequence[FreezePeriod]
    ) -> list[tuple[int, FreezePeriod]]:
        return [
            (i, freeze)
            for i, window in enumerate(windows)
            for freeze in covering(freezes, window, self.services)
        ]

    def set_communication_plan(self, cmd: SetCommunicationPlan) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "change the communication plan of")
        entries: list[CommunicationEntry] = []
        for i, planned in enumerate(cmd.entries):
            entry = CommunicationEntry(
                entry_id=plan.entry_id(
                    planned.audience,
                    planned.channel,
                    planned.message,
                    planned.milestone,
                    planned.offset,
                ),
                audience=planned.audience,
                channel=planned.channel,
                message=planned.message,
                milestone=planned.milestone,
                offset=planned.offset,
            )
            if entry.entry_id in {e.entry_id for e in entries}:
                raise InvalidPlan(f"entries.{i}", "repeats an earlier entry")
            if self.due_at(entry) is None:
                raise InvalidPlan(
                    f"entries.{i}.milestone", f"the plan has no dates for {planned.milestone}"
                )
            entries.append(entry)
        if tuple(entries) == self.communication_plan:
            return []
        return [CommunicationPlanSet(release_id=self.id, entries=entries)]

    def due_at(self, entry: CommunicationEntry) -> datetime | None:
        """When a communication falls due by the plan as it now is."""
        planned = self.planned
        if planned is None:
            return None
        return plan.due_at(entry, planned, self.activities, self.windows)

    def assess_risk(self, cmd: AssessRisk) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "assess the risk of")
        return [
            RiskAssessed(
                release_id=self.id,
                likelihood=cmd.likelihood,
                impact=cmd.impact,
                risk_level=plan.risk_level(cmd.likelihood, cmd.impact),
                affected_services=list(cmd.affected_services),
                mitigations=list(cmd.mitigations),
            )
        ]

    def set_backout_plan(self, cmd: SetBackoutPlan) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "change the backout plan of")
        if not cmd.steps:
            raise InvalidPlan("steps", "a backout plan needs at least one step")
        return [
            BackoutPlanSet(
                release_id=self.id,
                trigger_conditions=list(cmd.trigger_conditions),
                steps=list(cmd.steps),
            )
        ]

    def cancel(self, cmd: CancelRelease) -> list[ReleaseEvent]:
        self._check_plan_changeable(cmd.by, "cancel")
        return [ReleaseCancelled(release_id=self.id, reason=cmd.reason)]

    # --- Package, validation, approval -------------------------------------------------

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
        if cmd.kind not in policy.required_validations:
            return new
        if cmd.outcome is Outcome.FAILED:
            new.append(
                ReleaseValidationFailed(
                    release_id=self.id, package_revision=revision, failed=[cmd.kind]
                )
            )
            return new
        passed = {k for k, r in self.results.items() if r.outcome is Outcome.PASSED} | {cmd.kind}
        if policy.required_validations <= passed and self.status is not Status.VALIDATED:
            new.append(
                ReleaseValidated(
                    release_id=self.id,
                    package_revision=revision,
                    kinds=sorted(policy.required_validations),
                )
            )
        return new

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
        if len(approvers) >= policy.approvers_needed(self.risk.level if self.risk else None):
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
        if missing := sorted(policy.required_validations - passed):
            # The policy may have changed since the release was validated.
            kinds = ", ".join(missing)
            unmet.append(("required-validations", f"not passed on this package: {kinds}"))
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
        els = self.activities.get(Activity.EARLY_LIFE_SUPPORT)
        planned_days = float((els.end - els.start).days + 1) if els else None
        return [
            ReleaseReviewed(
                release_id=self.id,
                objectives_met=cmd.objectives_met,
                deployment_outcome=cmd.deployment_outcome,
                incidents_during_els=cmd.incidents_during_els,
                els_duration_days=cmd.els_duration_days,
                els_planned_days=planned_days,
                went_well=list(cmd.went_well),
                to_improve=list(cmd.to_improve),
                actions=list(cmd.actions),
                reviewed_by=cmd.by,
            ),
            *(ImprovementActionRaised(release_id=self.id, action=a) for a in cmd.actions),
        ]

    # --- Checks ------------------------------------------------------------------------

    def _check_state(self, action: str, allowed: Set[Status]) -> None:
        if self.status not in allowed:
            raise InvalidTransition(self.id, str(self.status), action)

    def _check_manager(self, subject: str) -> None:
        if subject != self.release_manager and subject not in self.owners:
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
