"""Request bodies of the release lifecycle router: package, validation, approval,
rejection, review."""

from __future__ import annotations

from typing import Annotated, TypeVar
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
)

from ferry.events.release import (
    ImprovementAction,
    MediaRef,
    Outcome,
    ValidationKind,
)
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.fields import Day, Line, Notes, Prose
from release_svc.api.schemas.common import VersionLabel
from release_svc.domain.commands import Review
from release_svc.domain.review_draft import ReviewDraft

T = TypeVar("T")

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


class TeamAgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(pattern=TEAM_NAME_PATTERN, description="the team agreeing")
    comment: Notes = ""


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
    """The post-implementation review's findings: the reviewer's judgement, and what
    happened where it differs from the record (left out, it is the draft's,
    `GET /releases/{id}/review/draft`)."""

    model_config = ConfigDict(extra="forbid")

    objectives_met: bool
    deployment_outcome: Prose | None = None
    incidents_during_els: int | None = Field(default=None, ge=0, le=1_000_000)
    els_duration_days: float | None = Field(default=None, ge=0, le=3650, allow_inf_nan=False)
    went_well: list[Prose] = Field(default=[], max_length=50)
    to_improve: list[Prose] = Field(default=[], max_length=50)
    actions: list[ImprovementActionIn] = Field(default=[], max_length=50)

    def review(self, release_id: UUID, draft: ReviewDraft, by: str) -> Review:
        """The review these findings make, the draft's record filling what they leave out."""

        def given(value: T | None, drafted: T) -> T:
            return drafted if value is None else value

        return Review(
            release_id=release_id,
            objectives_met=self.objectives_met,
            deployment_outcome=given(self.deployment_outcome, draft.deployment_outcome),
            incidents_during_els=given(self.incidents_during_els, draft.incidents_during_els),
            els_duration_days=given(self.els_duration_days, draft.els_duration_days),
            went_well=self.went_well,
            to_improve=self.to_improve,
            actions=[ImprovementAction(action_id=uuid4(), **a.model_dump()) for a in self.actions],
            by=by,
            els_escalations=draft.els_escalations,
            feedback_count=len(draft.feedback),
            satisfaction=draft.satisfaction,
        )
