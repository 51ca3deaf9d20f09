"""Commands to a release: what a caller asks of the Release aggregate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from ferry.events.release import (
    ActionState,
    Activity,
    ApprovalSource,
    BackoutStep,
    BackoutTrigger,
    DeploymentWindow,
    ImprovementAction,
    Level,
    MediaRef,
    Milestone,
    Outcome,
    ReadinessItem,
    ReleaseType,
    ScopeItem,
    Span,
    ValidationKind,
)
from ferry.freezes import FreezePeriod
from release_svc.domain.policy import Policy


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
    team: str | None = None


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
    acknowledge: bool = False


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
    """When and how to back the release out; plain text is a judgement (a trigger) or a
    manual step."""

    release_id: UUID
    trigger_conditions: Sequence[BackoutTrigger | str]
    steps: Sequence[BackoutStep | str]
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
class AgreeForTeam:
    """A release manager of `team` agrees to the release's scope."""

    release_id: UUID
    team: str
    by: str
    comment: str = ""


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
    owning_teams: Set[str] = frozenset()
    """The teams owning the release's services: when several, each must have agreed."""


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
    els_escalations: int = 0
    feedback_count: int = 0
    satisfaction: float | None = None


@dataclass(frozen=True)
class ProgressAction:
    """Move an improvement action to `state` (its owner, or the release's manager)."""

    action_id: UUID
    state: ActionState
    by: str
    note: str = ""


@dataclass(frozen=True)
class ReassignAction:
    """Give an improvement action another owner or due date (the release's manager)."""

    action_id: UUID
    owner: str
    due: date | None
    by: str


@dataclass(frozen=True)
class ConfirmReadiness:
    """`by`, holding `roles` (for one team or everywhere), confirms `item` ready."""

    release_id: UUID
    item: ReadinessItem
    evidence: str
    by: str
    roles: frozenset[str]
