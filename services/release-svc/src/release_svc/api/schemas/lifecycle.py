"""Request bodies of the release lifecycle router: package, validation, approval,
rejection, review."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
)

from ferry.events.release import (
    MediaRef,
    Outcome,
    ValidationKind,
)
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.fields import Day, Line, Notes, Prose
from release_svc.api.schemas.common import VersionLabel

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
    """The post-implementation review's findings."""

    model_config = ConfigDict(extra="forbid")

    objectives_met: bool
    deployment_outcome: Prose
    incidents_during_els: int = Field(ge=0, le=1_000_000)
    els_duration_days: float | None = Field(default=None, ge=0, le=3650, allow_inf_nan=False)
    went_well: list[Prose] = Field(default=[], max_length=50)
    to_improve: list[Prose] = Field(default=[], max_length=50)
    actions: list[ImprovementActionIn] = Field(default=[], max_length=50)
