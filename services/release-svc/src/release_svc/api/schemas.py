"""Request and response bodies of the releases API."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from ferry.events.policy import SegregationRule
from ferry.events.release import (
    Activity,
    DeploymentWindow,
    ImprovementAction,
    Level,
    MediaRef,
    Milestone,
    Outcome,
    ReleaseType,
    ScopeKind,
    Span,
    ValidationKind,
)
from ferry.fields import Day, Line, Moment, Notes, Prose
from release_svc.domain.policy import Policy
from release_svc.domain.release import Release

VersionLabel = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.+-]+$"),
]


class Dates(BaseModel):
    """Planned start and end, end not before start."""

    model_config = ConfigDict(extra="forbid")

    planned_start: Day
    planned_end: Day

    @field_validator("planned_end")
    @classmethod
    def _not_before_start(cls, end: date, info: ValidationInfo) -> date:
        start = info.data.get("planned_start")
        if start is not None and end < start:
            raise ValueError("must not be before planned_start")
        return end


MAX_OFFSET = timedelta(days=3650)
"""How far from its milestone a communication may be timed."""

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][\w.-]*$"
    ),
]
"""An environment or service name: letters, digits, `.`, `_`, `-`."""


class SpanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: Day
    end: Day


Activities = Annotated[
    dict[Activity, SpanIn],
    Field(
        default={},
        description="planned first and last day of each activity, within the release's dates",
        examples=[{"deployment": {"start": "2026-12-03", "end": "2026-12-03"}}],
    ),
]


def spans(activities: dict[Activity, SpanIn]) -> dict[Activity, Span]:
    return {a: Span(start=s.start, end=s.end) for a, s in activities.items()}


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


class ScheduleIn(Dates):
    """New planned dates (the activities' too: all of them) and why they moved."""

    reason: Prose
    activities: Activities


class ScopeItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ScopeKind
    name: Line
    version: Notes = Field(default="", max_length=64)
    description: Notes = ""


class ScopeIn(BaseModel):
    """Everything the release includes (replacing the earlier scope)."""

    model_config = ConfigDict(extra="forbid")

    items: list[ScopeItemIn] = Field(max_length=500)


class WindowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    environment: Name
    start: Moment = Field(examples=["2026-12-03T22:00:00+01:00"])
    end: Moment


class WindowsIn(BaseModel):
    """Deployment windows, at most one per environment (replacing the earlier ones)."""

    model_config = ConfigDict(extra="forbid")

    windows: list[WindowIn] = Field(max_length=50)
    freeze_override: Notes = Field(
        default="", description="an emergency release's reason to deploy inside a freeze"
    )

    def to_windows(self) -> list[DeploymentWindow]:
        return [DeploymentWindow(**w.model_dump()) for w in self.windows]


class CommunicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    audience: Line = Field(examples=["service desk"])
    channel: Line = Field(examples=["email"])
    message: Prose
    milestone: Milestone
    offset: timedelta = Field(
        default=timedelta(0),
        ge=-MAX_OFFSET,
        le=MAX_OFFSET,
        description="ISO 8601 duration from the milestone; negative is before, e.g. -P7D",
        examples=["-P7D"],
    )


class CommunicationPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    entries: list[CommunicationIn] = Field(max_length=200)


class RiskIn(BaseModel):
    """Likelihood and impact; the risk level follows from them."""

    model_config = ConfigDict(extra="forbid")

    likelihood: Level
    impact: Level
    affected_services: list[Name] = Field(default=[], max_length=100)
    mitigations: list[Prose] = Field(default=[], max_length=100)


class BackoutPlanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trigger_conditions: list[Prose] = Field(min_length=1, max_length=50)
    steps: list[Prose] = Field(min_length=1, max_length=100, description="in order")


Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class MediaIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Line
    version: VersionLabel
    sha256: Sha256


class PackageIn(BaseModel):
    """The DML media the release consists of, each as the DML announced it."""

    model_config = ConfigDict(extra="forbid")

    media: list[MediaIn] = Field(min_length=1, max_length=500)

    def to_media(self) -> list[MediaRef]:
        return [MediaRef(**m.model_dump()) for m in self.media]


class ValidationIn(BaseModel):
    """One kind of Service Validation and Testing of the current package."""

    model_config = ConfigDict(extra="forbid")

    kind: ValidationKind
    outcome: Outcome
    evidence: HttpUrl = Field(description="a link to the test report")


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rfc: Line = Field(description="the request for change", examples=["RFC-1234"])
    comment: Notes = ""


class RejectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rfc: Line
    reason: Prose


class ImprovementActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: Prose
    owner: Notes = Field(default="", max_length=200)
    due: Day | None = None


class ReviewIn(BaseModel):
    """The post-implementation review's findings."""

    model_config = ConfigDict(extra="forbid")

    objectives_met: bool
    deployment_outcome: Prose
    incidents_during_els: int = Field(ge=0, le=1_000_000)
    els_duration_days: float | None = Field(default=None, ge=0, le=3650, allow_inf_nan=False)
    went_well: list[Prose] = Field(default=[], max_length=50)
    to_improve: list[Prose] = Field(default=[], max_length=50)
    actions: list[ImprovementActionIn] = Field(default=[], max_length=50)


class PolicyRules(BaseModel):
    """The rules releases of one type follow."""

    model_config = ConfigDict(extra="forbid")

    required_validations: list[ValidationKind] = Field(min_length=1, max_length=len(ValidationKind))
    approvers: int = Field(ge=1, le=20)
    high_risk_approvers: int = Field(ge=1, le=20)
    backout_plan_required: bool = True
    segregation: list[SegregationRule] = Field(default=list(SegregationRule))
    review_required: bool = True

    @field_validator("high_risk_approvers")
    @classmethod
    def _at_least_approvers(cls, value: int, info: ValidationInfo) -> int:
        approvers = info.data.get("approvers")
        if approvers is not None and value < approvers:
            raise ValueError("must be at least approvers")
        return value

    def to_policy(self, release_type: ReleaseType) -> Policy:
        return Policy(
            release_type=release_type,
            required_validations=frozenset(self.required_validations),
            approvers=self.approvers,
            high_risk_approvers=self.high_risk_approvers,
            backout_plan_required=self.backout_plan_required,
            segregation=frozenset(self.segregation),
            review_required=self.review_required,
        )


class PolicyIn(PolicyRules):
    """A policy proposed: its rules, and why they should change."""

    reason: str = Field(min_length=1, max_length=2000)
    """Shown to the change authorities who decide on the proposal."""


class PolicyOut(PolicyRules):
    release_type: ReleaseType
    stream_version: int
    """0 while the default is in force."""

    @classmethod
    def of(cls, policy: Policy, version: int) -> PolicyOut:
        return cls(
            release_type=policy.release_type,
            required_validations=sorted(policy.required_validations),
            approvers=policy.approvers,
            high_risk_approvers=policy.high_risk_approvers,
            backout_plan_required=policy.backout_plan_required,
            segregation=sorted(policy.segregation),
            review_required=policy.review_required,
            stream_version=version,
        )


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
    due_at: AwareDatetime | None
    """When it falls due by the plan as it now is."""


class RiskOut(BaseModel):
    likelihood: Level
    impact: Level
    risk_level: Level
    affected_services: list[str]
    mitigations: list[str]


class BackoutPlanOut(BaseModel):
    trigger_conditions: list[str]
    steps: list[str]


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
    escalation_contact: str
    depends_on: list[UUID]
    scope: list[ScopeItemIn]
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
            escalation_contact=release.escalation_contact,
            depends_on=sorted(release.depends_on),
            scope=[ScopeItemIn(**i.model_dump()) for i in release.scope],
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


class ReleasePage(BaseModel):
    """A page of releases; `next` is the cursor of the following page, or null at the end."""

    items: list[ReleaseSummary]
    next: str | None
