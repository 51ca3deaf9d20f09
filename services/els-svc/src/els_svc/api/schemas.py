"""Request and response bodies of els-svc's API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from els_svc.domain.case import ElsCase
from els_svc.domain.evaluation import Measured
from els_svc.projections.cases import state_of
from ferry.events.els import Aggregate, Criterion, Direction, Period
from ferry.fields import Line, Moment, Notes

Metric = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=r"^[a-z0-9_.-]+$")]
Side = Literal["deployment", "operations"]


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: Metric
    baseline: float | None = Field(
        default=None,
        allow_inf_nan=False,
        ge=-1e12,
        le=1e12,
        description="absent: computed from the signals of the 7 periods before the deployment",
    )
    tolerance: float = Field(ge=0, le=100, description="a fraction: 0.1 is 10 % worse")
    direction: Direction = Direction.AT_MOST
    aggregate: Aggregate = Aggregate.SUM
    period: Period = Period.DAY
    consecutive: int = Field(default=1, ge=1, le=365)


class ProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    side: Side
    criteria: list[CriterionIn] = Field(min_length=1, max_length=50)


class AgreementIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    side: Side


class ObservationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    observation_id: Line | None = Field(default=None, description="repeats are ignored")
    metric: Metric
    value: float = Field(allow_inf_nan=False, ge=-1e12, le=1e12)
    observed_at: Moment


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Line
    kind: Literal["incident", "problem"] = "incident"


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Line
    assignee: Line
    due: date | None = None


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: Notes = ""


class ExitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    override_reason: Notes = Field(default="", description="needed when normal is not reached yet")


class TaskOut(BaseModel):
    task_id: UUID
    title: str
    assignee: str
    due: date | None
    done_by: str


class CaseOut(BaseModel):
    id: UUID
    release_id: UUID | None
    environment: str
    state: str
    started_at: datetime | None
    planned_end: datetime | None
    escalation_contact: str
    services: list[str]
    proposed: list[Criterion] | None
    criteria: list[Criterion]
    agreed_by: dict[str, str] | None
    normal_reached: bool
    extensions: int
    incidents: list[dict[str, str]]
    tasks: list[TaskOut]
    feedback: list[dict[str, object]]
    override_reason: str
    stream_version: int

    @classmethod
    def of(cls, case: ElsCase) -> CaseOut:
        return cls(
            id=case.id,
            release_id=case.release_id,
            environment=case.environment,
            state=state_of(case),
            started_at=case.started_at,
            planned_end=case.planned_end,
            escalation_contact=case.escalation_contact,
            services=case.services,
            proposed=case.proposal[0] if case.proposal else None,
            criteria=case.criteria,
            agreed_by=(
                {"deployment": case.agreed_by[0], "operations": case.agreed_by[1]}
                if case.agreed_by
                else None
            ),
            normal_reached=case.normal_reached,
            extensions=case.extensions,
            incidents=[{"reference": r, "kind": k} for r, k in case.incidents],
            tasks=[
                TaskOut(
                    task_id=t.task_id,
                    title=t.title,
                    assignee=t.assignee,
                    due=t.due if isinstance(t.due, date) else None,
                    done_by=t.done_by,
                )
                for t in case.tasks.values()
            ],
            feedback=[{"rating": r, "comment": c, "given_by": b} for r, c, b in case.feedback],
            override_reason=case.exited.override_reason if case.exited else "",
            stream_version=case.version,
        )


class PeriodOut(BaseModel):
    start: datetime
    value: float | None
    limit: float
    holds: bool

    @classmethod
    def of(cls, period: Measured) -> PeriodOut:
        return cls(start=period.start, value=period.value, limit=period.limit, holds=period.holds)


class MetricReport(BaseModel):
    criterion: Criterion
    periods: list[PeriodOut]


class ReportOut(BaseModel):
    """A case's report, ready for a dashboard to draw."""

    case: CaseOut
    duration_days: float | None
    """From the start to the hand-over (or to now, while open)."""
    planned_days: float | None
    metrics: list[MetricReport]
