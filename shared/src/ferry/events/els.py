"""Events published by els-svc on `els.events`, and the signals it reads on `ops.signals`."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from ferry.events.base import Event


class Period(StrEnum):
    MINUTE = "minute"
    """For signals that change fast (and for trying Ferry out)."""
    HOUR = "hour"
    DAY = "day"


class Direction(StrEnum):
    AT_MOST = "at_most"
    """Lower is better (calls, incidents, error rate, response time)."""
    AT_LEAST = "at_least"
    """Higher is better (throughput, availability)."""


class Aggregate(StrEnum):
    SUM = "sum"
    """Counts: a period without observations counted nothing."""
    MEAN = "mean"
    MAX = "max"
    """Gauges: a period without observations is unknown."""


class Criterion(BaseModel):
    """One measure of "normal": the metric per period within `tolerance` of `baseline`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    metric: str
    baseline: float
    tolerance: float
    """A fraction of the baseline: 0.1 lets the metric be 10 % worse than it."""
    direction: Direction = Direction.AT_MOST
    aggregate: Aggregate = Aggregate.SUM
    period: Period = Period.DAY
    consecutive: int = 1
    """Periods in a row it must hold for normal to be reached."""


class ElsEvent(Event):
    """An event of one Early Life Support case: a release in one environment."""

    stream_prefix: ClassVar[str] = "els-case"
    case_id: UUID
    release_id: UUID
    environment: str

    def aggregate_id(self) -> str:
        return str(self.case_id)


class ElsStarted(ElsEvent):
    """Early Life Support began after a deployment."""

    type: Literal["ElsStarted"] = "ElsStarted"
    schema_version: Literal[1] = 1
    deployment_id: UUID | None = None
    started_at: AwareDatetime | None = None
    planned_end: AwareDatetime | None = None
    escalation_contact: str = ""
    services: list[str] = []


class ElsCriteriaProposed(ElsEvent):
    """One side proposed what "normal" is; the other side's agreement makes it so."""

    type: Literal["ElsCriteriaProposed"] = "ElsCriteriaProposed"
    schema_version: Literal[1] = 1
    criteria: list[Criterion]
    proposed_by: str
    side: Literal["deployment", "operations"]


class ElsCriteriaAgreed(ElsEvent):
    """What "normal" is, agreed by Deployment Management and by operations."""

    type: Literal["ElsCriteriaAgreed"] = "ElsCriteriaAgreed"
    schema_version: Literal[1] = 1
    criteria: list[Criterion]
    agreed_by_deployment: str
    agreed_by_operations: str


class ElsObservationRecorded(ElsEvent):
    """One observation of a metric, counted in the period it belongs to."""

    type: Literal["ElsObservationRecorded"] = "ElsObservationRecorded"
    schema_version: Literal[1] = 1
    observation_id: str
    """The signal's own id: the same signal twice is recorded once."""
    metric: str
    value: float
    observed_at: AwareDatetime
    source: str = "api"


class ElsEscalated(ElsEvent):
    """A metric went beyond its tolerance in a period: the escalation contact is told."""

    type: Literal["ElsEscalated"] = "ElsEscalated"
    schema_version: Literal[1] = 1
    metric: str
    period_start: AwareDatetime
    value: float
    limit: float
    contact: str


class ElsNormalReached(ElsEvent):
    """Every criterion held for its periods in a row."""

    type: Literal["ElsNormalReached"] = "ElsNormalReached"
    schema_version: Literal[1] = 1


class ElsExtended(ElsEvent):
    """The planned end passed without normal: support goes on until the new one."""

    type: Literal["ElsExtended"] = "ElsExtended"
    schema_version: Literal[1] = 1
    planned_end: AwareDatetime


class ElsIncidentLinked(ElsEvent):
    type: Literal["ElsIncidentLinked"] = "ElsIncidentLinked"
    schema_version: Literal[1] = 1
    reference: str
    kind: Literal["incident", "problem"] = "incident"


class ElsTaskAdded(ElsEvent):
    """Training or knowledge-transfer work for operations staff."""

    type: Literal["ElsTaskAdded"] = "ElsTaskAdded"
    schema_version: Literal[1] = 1
    task_id: UUID
    title: str
    assignee: str
    due: date | None = None


class ElsTaskDone(ElsEvent):
    type: Literal["ElsTaskDone"] = "ElsTaskDone"
    schema_version: Literal[1] = 1
    task_id: UUID
    by: str


class ElsFeedbackGiven(ElsEvent):
    type: Literal["ElsFeedbackGiven"] = "ElsFeedbackGiven"
    schema_version: Literal[1] = 1
    rating: int
    """1 to 5."""
    comment: str
    given_by: str


class ElsExited(ElsEvent):
    """Operations accepted the hand-over; Early Life Support ended."""

    type: Literal["ElsExited"] = "ElsExited"
    schema_version: Literal[1] = 1
    accepted_by: str = ""
    exited_at: AwareDatetime | None = None
    override_reason: str = ""
    """Why operations took it over before normal was reached or with tasks open; empty
    when neither."""
    open_tasks: list[str] = []
    """The titles of the case's tasks not done when it was taken over."""


# --- ops.signals ---------------------------------------------------------------------


class OpsSignal(Event):
    """A measurement from a service-desk or monitoring tool, on `ops.signals`."""

    stream_prefix: ClassVar[str] = "ops-signal"
    signal_id: str
    """Unique per signal at its source: a repeat is ignored."""
    service: str
    environment: str
    metric: str
    value: float
    observed_at: AwareDatetime

    def aggregate_id(self) -> str:
        return self.signal_id


class MetricObserved(OpsSignal):
    type: Literal["MetricObserved"] = "MetricObserved"
    schema_version: Literal[1] = 1
