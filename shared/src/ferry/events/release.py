"""Events published by release-svc on `release.events`."""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, field_validator

from ferry.events.base import Event
from ferry.events.strategy import Strategy


class ReleaseType(StrEnum):
    """How big a change a release is; an emergency release takes the emergency path."""

    MAJOR = "major"
    MINOR = "minor"
    PATCH = "patch"
    EMERGENCY = "emergency"


class Activity(StrEnum):
    """The activities of a release, each with its own planned dates."""

    BUILD = "build"
    TEST = "test"
    DEPLOYMENT = "deployment"
    EARLY_LIFE_SUPPORT = "early_life_support"


class Span(BaseModel):
    """Planned first and last day of an activity."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    start: date
    end: date


class ReleaseEvent(Event):
    """An event of one release's stream."""

    stream_prefix: ClassVar[str] = "release"
    release_id: UUID

    def aggregate_id(self) -> str:
        return str(self.release_id)


class ReleasePlanned(ReleaseEvent):
    """A release manager planned a release."""

    type: Literal["ReleasePlanned"] = "ReleasePlanned"
    schema_version: Literal[1] = 1
    name: str
    version: str
    planned_start: date
    planned_end: date
    release_manager: str
    """The subject who planned it and manages it."""
    identifier: str
    """Human-readable and unique, e.g. REL-2026-0042."""
    # Defaults: events stored before these fields existed still read as they meant.
    release_type: ReleaseType = ReleaseType.MINOR
    description: str = ""
    owners: list[str] = []
    """Subjects who, besides the release manager, may change the plan."""
    escalation_contact: str = ""
    """The team or person deployment incidents and support escalate to."""
    activities: dict[Activity, Span] = {}
    """Planned dates of each activity that has them, within the release's."""
    team: str | None = None
    """The team it is planned for; None: planned by a release manager of every team."""


class ReleaseRescheduled(ReleaseEvent):
    """A release's planned dates moved; the earlier ones stay in its history."""

    type: Literal["ReleaseRescheduled"] = "ReleaseRescheduled"
    schema_version: Literal[1] = 1
    planned_start: date
    planned_end: date
    reason: str
    activities: dict[Activity, Span] = {}


class ReleaseCancelled(ReleaseEvent):
    """A release was called off before it was deployed."""

    type: Literal["ReleaseCancelled"] = "ReleaseCancelled"
    schema_version: Literal[1] = 1
    reason: str


class ReleaseDependenciesSet(ReleaseEvent):
    """The releases a release depends on (all of them, replacing the earlier set)."""

    type: Literal["ReleaseDependenciesSet"] = "ReleaseDependenciesSet"
    schema_version: Literal[1] = 1
    depends_on: list[UUID]


# --- The plan's parts -------------------------------------------------------------------


class ScopeKind(StrEnum):
    """What kind of thing a release includes."""

    SERVICE = "service"
    APPLICATION = "application"
    COMPONENT = "component"
    DOCUMENTATION = "documentation"
    TRAINING = "training"
    PROCESS = "process"


class ReadinessItem(StrEnum):
    """What must be ready before a release goes live, each confirmed by the role named in
    release-svc's `domain.readiness`."""

    SERVICE_DESK_BRIEFED = "service_desk_briefed"
    TRAINING_DELIVERED = "training_delivered"
    DOCUMENTATION_PUBLISHED = "documentation_published"
    OPERATIONS_ACCEPTANCE = "operations_acceptance"


class ScopeItem(BaseModel):
    """One thing the release includes: a service, a configuration item, a document, …"""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: ScopeKind
    name: str
    version: str = ""
    description: str = ""


class DeploymentWindow(BaseModel):
    """When the release may be deployed to one environment; times carry their offset."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    environment: str
    start: AwareDatetime
    end: AwareDatetime


class Milestone(StrEnum):
    """A point of the plan a communication is timed against."""

    RELEASE_START = "release_start"
    RELEASE_END = "release_end"
    BUILD_START = "build_start"
    BUILD_END = "build_end"
    TEST_START = "test_start"
    TEST_END = "test_end"
    DEPLOYMENT_START = "deployment_start"
    DEPLOYMENT_END = "deployment_end"
    EARLY_LIFE_SUPPORT_START = "early_life_support_start"
    EARLY_LIFE_SUPPORT_END = "early_life_support_end"
    # What happened, when it happens (to production, or anywhere while none is known):
    DEPLOYMENT_STARTED = "deployment_started"
    DEPLOYMENT_COMPLETED = "deployment_completed"
    DEPLOYMENT_ROLLED_BACK = "deployment_rolled_back"
    ELS_EXITED = "els_exited"


ACTUAL_MILESTONES = frozenset(
    {
        Milestone.DEPLOYMENT_STARTED,
        Milestone.DEPLOYMENT_COMPLETED,
        Milestone.DEPLOYMENT_ROLLED_BACK,
        Milestone.ELS_EXITED,
    }
)
"""Milestones of what actually happened: a communication timed from one falls due only
once it has happened."""


class CommunicationEntry(BaseModel):
    """Tell `audience` `message` over `channel`, `offset` from `milestone` (negative: before)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    entry_id: str
    """Stable while the entry's content stays the same."""
    audience: str
    channel: str
    message: str
    milestone: Milestone
    offset: timedelta
    acknowledge: bool = False
    """Whether its recipients are asked to acknowledge it, in their inboxes."""


class Level(StrEnum):
    """Likelihood, impact and risk, on one three-step scale."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ValidationKind(StrEnum):
    """The kinds of Service Validation and Testing a policy may require."""

    FUNCTIONAL = "functional"
    INTEGRATION = "integration"
    PERFORMANCE = "performance"
    SECURITY = "security"
    USER_ACCEPTANCE = "user_acceptance"


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


class MediaRef(BaseModel):
    """One DML media item of a package."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    version: str
    sha256: str


class ReleaseScopeSet(ReleaseEvent):
    """What the release includes (the whole scope, replacing the earlier one)."""

    type: Literal["ReleaseScopeSet"] = "ReleaseScopeSet"
    schema_version: Literal[1] = 1
    items: list[ScopeItem]


class DeploymentWindowsSet(ReleaseEvent):
    """The release's deployment windows, per environment (all of them, replacing the earlier)."""

    type: Literal["DeploymentWindowsSet"] = "DeploymentWindowsSet"
    schema_version: Literal[1] = 1
    windows: list[DeploymentWindow]
    freeze_override: str = ""
    """Why an emergency release's windows may lie in a freeze; empty when none do."""
    overridden_freezes: list[UUID] = []


class CommunicationPlanSet(ReleaseEvent):
    """Who is told what, when (the whole plan, replacing the earlier one)."""

    type: Literal["CommunicationPlanSet"] = "CommunicationPlanSet"
    schema_version: Literal[1] = 1
    entries: list[CommunicationEntry]


class CommunicationDue(ReleaseEvent):
    """A communication plan entry fell due: a notifier or dashboard may act on it."""

    type: Literal["CommunicationDue"] = "CommunicationDue"
    schema_version: Literal[1] = 1
    entry: CommunicationEntry
    due_at: AwareDatetime


class RiskAssessed(ReleaseEvent):
    """The release's risk and impact assessment (replacing the earlier one)."""

    type: Literal["RiskAssessed"] = "RiskAssessed"
    schema_version: Literal[1] = 1
    likelihood: Level
    impact: Level
    risk_level: Level
    affected_services: list[str]
    mitigations: list[str]


class TriggerKind(StrEnum):
    VERIFICATION_FAILED = "verification_failed"
    """A target's verification failed during the deployment (always a trigger)."""
    METRIC = "metric"
    """Early Life Support escalated on the named metric after the deployment."""
    JUDGEMENT = "judgement"
    """Someone judges it, and asks for the rollback."""


class BackoutTrigger(BaseModel):
    """When the backout plan is followed. Plain text is a judgement."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: TriggerKind = TriggerKind.JUDGEMENT
    description: str = ""
    metric: str | None = None
    """For `metric`: the Early Life Support metric whose escalation triggers it."""


class BackoutStepKind(StrEnum):
    ROLLBACK = "rollback"
    """The driver switches every target the deployment switched back to what was before."""
    WEBHOOK = "webhook"
    """A signed POST to a webhook deploy-svc's operator configured, by name."""
    MANUAL = "manual"
    """Someone does it and confirms it through the API before the backout goes on."""


class BackoutStep(BaseModel):
    """One step of a backout plan. Plain text is a manual step."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: BackoutStepKind = BackoutStepKind.MANUAL
    description: str = ""
    webhook: str | None = None
    """For `webhook`: the name of one of deploy-svc's `FERRY_DEPLOY_BACKOUT_WEBHOOKS`."""


def _described(items: object) -> object:
    """Plain text, as plans were written before they were typed, is a described item."""
    if isinstance(items, list):
        return [{"description": item} if isinstance(item, str) else item for item in items]
    return items


class BackoutPlanSet(ReleaseEvent):
    """When and how to roll the release back (replacing the earlier plan): what deploy-svc
    follows when a trigger fires."""

    type: Literal["BackoutPlanSet"] = "BackoutPlanSet"
    schema_version: Literal[1] = 1
    trigger_conditions: list[BackoutTrigger]
    steps: list[BackoutStep]
    """In the order they are taken."""

    @field_validator("trigger_conditions", "steps", mode="before")
    @classmethod
    def _typed(cls, items: object) -> object:
        return _described(items)


# --- The lifecycle ----------------------------------------------------------------------


class ReleasePackageBuilt(ReleaseEvent):
    """The release's package: the DML media it consists of. A new package needs new tests."""

    type: Literal["ReleasePackageBuilt"] = "ReleasePackageBuilt"
    schema_version: Literal[1] = 1
    revision: int
    """Counts the release's packages from 1."""
    media: list[MediaRef]
    built_by: str


class ValidationResultRecorded(ReleaseEvent):
    """A tester recorded one kind of validation of the current package."""

    type: Literal["ValidationResultRecorded"] = "ValidationResultRecorded"
    schema_version: Literal[1] = 1
    package_revision: int
    kind: ValidationKind
    outcome: Outcome
    evidence: str
    """A link to the test report."""
    tester: str


class ReleaseValidated(ReleaseEvent):
    """Every kind of validation the policy requires passed on the current package."""

    type: Literal["ReleaseValidated"] = "ReleaseValidated"
    schema_version: Literal[1] = 1
    package_revision: int
    kinds: list[ValidationKind]


class ReleaseValidationFailed(ReleaseEvent):
    """A kind of validation the policy requires failed on the current package."""

    type: Literal["ReleaseValidationFailed"] = "ReleaseValidationFailed"
    schema_version: Literal[1] = 1
    package_revision: int
    failed: list[ValidationKind]


class ApprovalSource(StrEnum):
    API = "api"
    CHANGE_TOOL = "change-tool"
    """A decision from an external change tool, on `change.events`."""


class TeamAgreementGiven(ReleaseEvent):
    """A release manager of a team owning some of the release's services agreed to its
    scope; a release whose services several teams own needs each one's before approval."""

    type: Literal["TeamAgreementGiven"] = "TeamAgreementGiven"
    schema_version: Literal[1] = 1
    team: str
    by: str
    comment: str = ""


class ApprovalGiven(ReleaseEvent):
    """One approver approved; the release is approved once the policy has enough of these."""

    type: Literal["ApprovalGiven"] = "ApprovalGiven"
    schema_version: Literal[1] = 1
    approver: str
    rfc: str
    """The request for change the approval belongs to."""
    source: ApprovalSource = ApprovalSource.API
    comment: str = ""


class RiskRule(BaseModel):
    """What a release policy asks of a risk level: the least careful strategy and the
    shortest soak its production deployments may use, and validations besides the
    policy's."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    level: Level
    least_strategy: Strategy = Strategy.BIG_BANG
    min_soak_seconds: float = 0
    validations: list[ValidationKind] = []


class ReleaseApproved(ReleaseEvent):
    """Change Enablement approved the release for deployment."""

    type: Literal["ReleaseApproved"] = "ReleaseApproved"
    schema_version: Literal[1] = 1
    rfc: str
    approvers: list[str]
    package_revision: int
    media: list[MediaRef]
    """The approved package, so the DML needs nothing else to make it available."""
    segregation: list[str] = []
    """The segregation-of-duties rules of the release's policy (e.g.
    `approver-cannot-deploy-to-production`, for deploy-svc to enforce)."""
    built_by: str = ""
    """Who built the approved package; empty in events stored before it was carried."""
    validated_by: list[str] = []
    """Everyone who recorded a validation of the approved package; with `built_by` and
    `approvers`, the gates deploy-svc keeps apart from deploying to production."""
    readiness: list[ReadinessItem] = []
    """What must be confirmed ready before a production deployment: the policy's readiness
    items at approval, and training when the scope holds training."""
    risk_level: Level | None = None
    """The assessed risk at approval; None: not assessed (or before it was carried)."""
    risk_rule: RiskRule | None = None
    """The policy's rule for that risk level, for deploy-svc to hold production
    deployments to."""


class ReleaseRejected(ReleaseEvent):
    """Change Enablement rejected the release; a new package may be submitted."""

    type: Literal["ReleaseRejected"] = "ReleaseRejected"
    schema_version: Literal[1] = 1
    rfc: str
    rejected_by: str
    reason: str
    source: ApprovalSource = ApprovalSource.API


class ReleaseMadeAvailable(ReleaseEvent):
    """The DML announced the release's package available for deployment."""

    type: Literal["ReleaseMadeAvailable"] = "ReleaseMadeAvailable"
    schema_version: Literal[1] = 1


class ReleaseDeployed(ReleaseEvent):
    """deploy-svc completed a deployment of the release to one environment."""

    type: Literal["ReleaseDeployed"] = "ReleaseDeployed"
    schema_version: Literal[1] = 1
    environment: str
    deployment_id: UUID


class ReleaseInEarlyLifeSupport(ReleaseEvent):
    """Early Life Support began after a deployment."""

    type: Literal["ReleaseInEarlyLifeSupport"] = "ReleaseInEarlyLifeSupport"
    schema_version: Literal[1] = 1
    environment: str


class ReleaseReadyForReview(ReleaseEvent):
    """Early Life Support ended: operations took the release over; it awaits its review."""

    type: Literal["ReleaseReadyForReview"] = "ReleaseReadyForReview"
    schema_version: Literal[1] = 1
    environment: str


class ReleaseClosed(ReleaseEvent):
    """The release's life ended without a review, its policy not requiring one."""

    type: Literal["ReleaseClosed"] = "ReleaseClosed"
    schema_version: Literal[1] = 1
    reason: str


class ImprovementAction(BaseModel):
    """An improvement the review asks for, handed to Continual Improvement."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    action_id: UUID
    description: str
    owner: str = ""
    due: date | None = None


class ReleaseReviewed(ReleaseEvent):
    """The post-implementation review; the release is closed."""

    type: Literal["ReleaseReviewed"] = "ReleaseReviewed"
    schema_version: Literal[1] = 1
    objectives_met: bool
    deployment_outcome: str
    incidents_during_els: int
    els_duration_days: float | None
    els_planned_days: float | None
    went_well: list[str]
    to_improve: list[str]
    actions: list[ImprovementAction]
    reviewed_by: str
    els_escalations: int = 0
    feedback_count: int = 0
    satisfaction: float | None = None
    """The mean rating (1 to 5) of the feedback given during Early Life Support."""


class ImprovementActionRaised(ReleaseEvent):
    """One improvement action from a review, for Continual Improvement to take up."""

    type: Literal["ImprovementActionRaised"] = "ImprovementActionRaised"
    schema_version: Literal[1] = 1
    action: ImprovementAction


class ActionState(StrEnum):
    """Where an improvement action stands; `done` and `dropped` are final."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    DROPPED = "dropped"


class ImprovementActionProgressed(ReleaseEvent):
    """An improvement action moved on: started, done, dropped (with the reason) or back to
    open."""

    type: Literal["ImprovementActionProgressed"] = "ImprovementActionProgressed"
    schema_version: Literal[1] = 1
    action_id: UUID
    state: ActionState
    note: str = ""
    """What was done, or why it was dropped (required then)."""
    by: str


class ImprovementActionReassigned(ReleaseEvent):
    """An improvement action got another owner or due date."""

    type: Literal["ImprovementActionReassigned"] = "ImprovementActionReassigned"
    schema_version: Literal[1] = 1
    action_id: UUID
    owner: str
    due: date | None
    by: str


class ReadinessConfirmed(ReleaseEvent):
    """One item the release needs before going live is ready, with the evidence."""

    type: Literal["ReadinessConfirmed"] = "ReadinessConfirmed"
    schema_version: Literal[1] = 1
    item: ReadinessItem
    evidence: str
    by: str


class ReleaseMilestoneReached(ReleaseEvent):
    """Something a communication may be timed from actually happened, first: a deployment
    started, completed or rolled back, Early Life Support exited."""

    type: Literal["ReleaseMilestoneReached"] = "ReleaseMilestoneReached"
    schema_version: Literal[1] = 1
    milestone: Milestone
    environment: str
    at: AwareDatetime
