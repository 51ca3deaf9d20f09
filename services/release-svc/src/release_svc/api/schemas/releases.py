"""Request and response bodies of the releases router: plan, reschedule, dependencies,
cancel, the list; and `ReleaseOut`, the release every change of it answers with."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
)

from ferry.events.release import (
    Activity,
    BackoutStep,
    BackoutTrigger,
    DeploymentWindow,
    ImprovementAction,
    Level,
    MediaRef,
    Milestone,
    Outcome,
    ReleaseType,
    Span,
    ValidationKind,
)
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.fields import Line, Notes, Prose
from release_svc.api.schemas.common import Activities, Dates, ScopeItemIn, VersionLabel
from release_svc.domain.release import Release


class ReleasePlanIn(Dates):
    """A minimal release plan: what and when."""

    name: Line = Field(examples=["Payments 2026.12"])
    version: VersionLabel = Field(examples=["2026.12.0"])
    release_type: ReleaseType = ReleaseType.MINOR
    description: Notes = ""
    owners: list[Line] = Field(
        default=[], max_length=50, description="subjects who may change the plan too"
    )
    escalation_contact: Notes = Field(
        default="", description="the team or person deployment incidents escalate to"
    )
    activities: Activities
    team: str | None = Field(
        default=None,
        pattern=TEAM_NAME_PATTERN,
        description="the team it is for; by default the caller's, if release manager of one "
        "team only. A release manager of teams plans only for those.",
    )


class ScheduleIn(Dates):
    """New planned dates (the activities' too: all of them) and why they moved."""

    reason: Prose
    activities: Activities


class CancellationIn(BaseModel):
    """Why a release is called off."""

    model_config = ConfigDict(extra="forbid")

    reason: Prose


class DependenciesIn(BaseModel):
    """All the releases this one depends on (replacing the earlier set)."""

    model_config = ConfigDict(extra="forbid")

    depends_on: list[UUID] = Field(max_length=100)


class RescheduleOut(BaseModel):
    planned_start: date
    planned_end: date
    activities: dict[Activity, Span]
    reason: str


class CommunicationOut(BaseModel):
    entry_id: str
    audience: str
    channel: str
    message: str
    milestone: Milestone
    offset: timedelta
    acknowledge: bool
    due_at: AwareDatetime | None
    """When it falls due by the plan as it now is."""


class RiskOut(BaseModel):
    likelihood: Level
    impact: Level
    risk_level: Level
    affected_services: list[str]
    mitigations: list[str]


class BackoutPlanOut(BaseModel):
    trigger_conditions: list[BackoutTrigger]
    steps: list[BackoutStep]


class PackageOut(BaseModel):
    revision: int
    media: list[MediaRef]
    built_by: str


class ValidationOut(BaseModel):
    kind: ValidationKind
    outcome: Outcome
    evidence: str
    tester: str


class ReviewOut(BaseModel):
    objectives_met: bool
    deployment_outcome: str
    incidents_during_els: int
    els_duration_days: float | None
    els_planned_days: float | None
    went_well: list[str]
    to_improve: list[str]
    actions: list[ImprovementAction]
    reviewed_by: str
    els_escalations: int
    feedback_count: int
    satisfaction: float | None
    """The mean rating (1 to 5) of the feedback given during Early Life Support."""


class ReleaseOut(BaseModel):
    """A release as release-svc knows it."""

    id: UUID
    identifier: str
    release_type: ReleaseType
    name: str
    description: str
    version: str
    status: str
    planned_start: date | None
    planned_end: date | None
    activities: dict[Activity, Span]
    reschedules: list[RescheduleOut]
    """Every move of the dates, oldest first; the history endpoint says who and when."""
    release_manager: str
    owners: list[str]
    team: str | None
    """The team it is planned for; null: planned by a release manager of every team."""
    escalation_contact: str
    depends_on: list[UUID]
    scope: list[ScopeItemIn]
    team_agreements: dict[str, str]
    """Team → the release manager who agreed for it to the current scope: a release whose
    services several teams own needs each one's before approval."""
    windows: list[DeploymentWindow]
    freeze_override: str
    communication_plan: list[CommunicationOut]
    risk: RiskOut | None
    backout_plan: BackoutPlanOut | None
    package: PackageOut | None
    validations: list[ValidationOut]
    """The latest result of each kind, on the current package."""
    approvals: list[str]
    """Who approved the current package."""
    rfc: str
    deployed_to: list[str]
    review: ReviewOut | None
    stream_version: int

    @classmethod
    def of(cls, release: Release) -> ReleaseOut:
        return cls(
            id=release.id,
            identifier=release.identifier,
            release_type=release.release_type,
            name=release.name,
            description=release.description,
            version=release.release_version,
            status=str(release.status),
            planned_start=release.planned_start,
            planned_end=release.planned_end,
            activities=release.activities,
            reschedules=[
                RescheduleOut(
                    planned_start=r.planned_start,
                    planned_end=r.planned_end,
                    activities=dict(r.activities),
                    reason=r.reason,
                )
                for r in release.reschedules
            ],
            release_manager=release.release_manager,
            owners=sorted(release.owners),
            team=release.team,
            escalation_contact=release.escalation_contact,
            depends_on=sorted(release.depends_on),
            scope=[ScopeItemIn(**i.model_dump()) for i in release.scope],
            team_agreements=dict(sorted(release.team_agreements.items())),
            windows=list(release.windows),
            freeze_override=release.freeze_override,
            communication_plan=[
                CommunicationOut(**e.model_dump(), due_at=release.due_at(e))
                for e in release.communication_plan
            ],
            risk=RiskOut(
                likelihood=release.risk.likelihood,
                impact=release.risk.impact,
                risk_level=release.risk.level,
                affected_services=list(release.risk.affected_services),
                mitigations=list(release.risk.mitigations),
            )
            if release.risk
            else None,
            backout_plan=BackoutPlanOut(
                trigger_conditions=list(release.backout_plan.trigger_conditions),
                steps=list(release.backout_plan.steps),
            )
            if release.backout_plan
            else None,
            package=PackageOut(
                revision=release.package.revision,
                media=list(release.package.media),
                built_by=release.package.built_by,
            )
            if release.package
            else None,
            validations=[
                ValidationOut(kind=k, outcome=r.outcome, evidence=r.evidence, tester=r.tester)
                for k, r in sorted(release.results.items())
            ],
            approvals=list(release.approvals),
            rfc=release.rfc,
            deployed_to=sorted(release.deployed_to),
            review=ReviewOut(
                **release.review.model_dump(exclude={"type", "schema_version", "release_id"})
            )
            if release.review
            else None,
            stream_version=release.version,
        )


class ReleaseSummary(BaseModel):
    """A release as the list shows it."""

    release_id: UUID
    identifier: str | None
    release_type: ReleaseType | None
    name: str
    version: str
    status: str
    planned_start: date
    planned_end: date
    release_manager: str
    stream_version: int
    team: str | None
    """The team it is planned for, if any."""
    services: list[str]
    teams: list[str]
    """The teams it touches: the one it is planned for, those owning its services."""


class ReleasePage(BaseModel):
    """A page of releases; `next` is the cursor of the following page, or null at the end."""

    items: list[ReleaseSummary]
    next: str | None
