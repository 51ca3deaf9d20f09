"""The Early Life Support case of one release in one environment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from uuid import UUID

from els_svc.domain import evaluation
from ferry.errors import Conflict, Forbidden, InvalidField, InvalidTransition, NotFound
from ferry.events.els import (
    Criterion,
    ElsCriteriaAgreed,
    ElsCriteriaProposed,
    ElsEscalated,
    ElsEvent,
    ElsExited,
    ElsExtended,
    ElsFeedbackGiven,
    ElsIncidentLinked,
    ElsNormalReached,
    ElsObservationRecorded,
    ElsStarted,
    ElsTaskAdded,
    ElsTaskDone,
)
from ferry.eventsourced import EventSourced

Side = Literal["deployment", "operations"]


class AlreadyOpen(Conflict):
    """The deployment's case exists already."""


class SameSide(Forbidden):
    """Criteria are agreed between two sides: the one who proposed cannot agree."""


@dataclass(frozen=True)
class OpenCase:
    case_id: UUID
    release_id: UUID
    environment: str
    deployment_id: UUID | None
    started_at: datetime
    planned_end: datetime | None
    escalation_contact: str
    services: Sequence[str] = ()


@dataclass
class Task:
    task_id: UUID
    title: str
    assignee: str
    due: object
    done_by: str = ""


class TasksOpen(Conflict):
    """The case's own tasks are not all done: exiting now needs a reason."""

    def __init__(self, tasks: list[Task]) -> None:
        titles = "; ".join(task.title for task in tasks)
        super().__init__(f"tasks still open: {titles}; exiting now needs an override_reason")
        self.tasks = tasks

    def extensions(self) -> dict[str, object]:
        return {
            "tasks": [
                {"task_id": str(t.task_id), "title": t.title, "assignee": t.assignee}
                for t in self.tasks
            ]
        }


@dataclass
class ElsCase(EventSourced):
    id: UUID
    version: int = 0
    release_id: UUID | None = None
    environment: str = ""
    started_at: datetime | None = None
    planned_end: datetime | None = None
    escalation_contact: str = ""
    services: list[str] = field(default_factory=list)
    proposal: tuple[list[Criterion], str, Side] | None = None
    criteria: list[Criterion] = field(default_factory=list)
    agreed_by: tuple[str, str] | None = None
    observations: dict[str, evaluation.Observation] = field(default_factory=dict)
    escalated: set[tuple[str, datetime]] = field(default_factory=set)
    normal_reached: bool = False
    extensions: int = 0
    incidents: list[tuple[str, str]] = field(default_factory=list)
    tasks: dict[UUID, Task] = field(default_factory=dict)
    feedback: list[tuple[int, str, str]] = field(default_factory=list)
    exited: ElsExited | None = None

    def _event(self, event_type: type[ElsEvent], **fields: object) -> ElsEvent:
        assert self.release_id is not None
        return event_type(
            case_id=self.id, release_id=self.release_id, environment=self.environment, **fields
        )

    def open(self, cmd: OpenCase) -> list[ElsEvent]:
        if self.exists:
            raise AlreadyOpen(f"case {self.id} is open already")
        return [
            ElsStarted(
                case_id=cmd.case_id,
                release_id=cmd.release_id,
                environment=cmd.environment,
                deployment_id=cmd.deployment_id,
                started_at=cmd.started_at,
                planned_end=cmd.planned_end,
                escalation_contact=cmd.escalation_contact,
                services=list(cmd.services),
            )
        ]

    def _check_open(self, action: str) -> None:
        if self.exited is not None:
            raise InvalidTransition(self.id, "exited", action)

    def propose(self, criteria: Sequence[Criterion], by: str, side: Side) -> list[ElsEvent]:
        """One side proposes the criteria of normal; the other agrees (`agree`)."""
        self._check_open("propose criteria for")
        _check_criteria(criteria)
        return [
            self._event(ElsCriteriaProposed, criteria=list(criteria), proposed_by=by, side=side)
        ]

    def agree(self, by: str, side: Side) -> list[ElsEvent]:
        self._check_open("agree criteria for")
        if self.proposal is None:
            raise InvalidTransition(self.id, "without a proposal", "agree criteria for")
        criteria, proposer, proposing_side = self.proposal
        if side == proposing_side or by == proposer:
            raise SameSide(f"{proposer} proposed for {proposing_side}; the other side agrees")
        deployment, operations = (proposer, by) if side == "operations" else (by, proposer)
        return [
            self._event(
                ElsCriteriaAgreed,
                criteria=criteria,
                agreed_by_deployment=deployment,
                agreed_by_operations=operations,
            )
        ]

    def observe(
        self, observation_id: str, metric: str, value: float, at: datetime, source: str
    ) -> list[ElsEvent]:
        """Record an observation, once per id (a repeated signal changes nothing)."""
        if observation_id in self.observations or self.exited is not None:
            return []
        return [
            self._event(
                ElsObservationRecorded,
                observation_id=observation_id,
                metric=metric,
                value=value,
                observed_at=at,
                source=source,
            )
        ]

    def periods(self, now: datetime) -> dict[str, list[evaluation.Measured]]:
        assert self.started_at is not None
        seen = list(self.observations.values())
        return {c.metric: evaluation.measured(c, seen, self.started_at, now) for c in self.criteria}

    def evaluate(self, now: datetime) -> list[ElsEvent]:
        """What the periods closed by `now` call for: escalations of new breaches, normal
        once every criterion held, an extension once the planned end passed without it."""
        if self.exited is not None:
            return []
        # Breaches are looked for until the hand-over, normal or not: a late signal may
        # show one in a period judged already.
        per = self.periods(now)
        new: list[ElsEvent] = [
            self._event(
                ElsEscalated,
                metric=metric,
                period_start=period.start,
                value=period.value,
                limit=period.limit,
                contact=self.escalation_contact,
            )
            for metric, period in evaluation.breaches(per)
            if (metric, period.start) not in self.escalated
        ]
        if self.normal_reached:
            return new
        observed = {o.metric for o in self.observations.values()}
        if evaluation.normal(self.criteria, per, observed):
            new.append(self._event(ElsNormalReached))
        elif self.planned_end is not None and now > self.planned_end:
            later = now + evaluation.extension(self.criteria)
            new.append(self._event(ElsExtended, planned_end=later))
        return new

    def link_incident(self, reference: str, kind: Literal["incident", "problem"]) -> list[ElsEvent]:
        self._check_open("link an incident to")
        if (reference, kind) in self.incidents:
            return []
        return [self._event(ElsIncidentLinked, reference=reference, kind=kind)]

    def add_task(self, task_id: UUID, title: str, assignee: str, due: object) -> list[ElsEvent]:
        self._check_open("add a task to")
        return [self._event(ElsTaskAdded, task_id=task_id, title=title, assignee=assignee, due=due)]

    def complete_task(self, task_id: UUID, by: str) -> list[ElsEvent]:
        self._check_open("complete a task of")
        task = self.tasks.get(task_id)
        if task is None:
            raise NotFound(f"the case has no task {task_id}")
        if task.done_by:
            return []
        return [self._event(ElsTaskDone, task_id=task_id, by=by)]

    def give_feedback(self, rating: int, comment: str, by: str) -> list[ElsEvent]:
        self._check_open("give feedback on")
        return [self._event(ElsFeedbackGiven, rating=rating, comment=comment, given_by=by)]

    def exit(self, by: str, at: datetime, override_reason: str = "") -> list[ElsEvent]:
        """Operations accepts the hand-over: once normal is reached and every task of the
        case is done, or with a reason, recorded with the tasks left open."""
        self._check_open("exit")
        open_tasks = [task for task in self.tasks.values() if not task.done_by]
        if not override_reason:
            if not self.normal_reached:
                raise InvalidField(
                    "override_reason", "normal is not reached: accepting now needs a reason"
                )
            if open_tasks:
                raise TasksOpen(open_tasks)
        overridden = not self.normal_reached or bool(open_tasks)
        return [
            self._event(
                ElsExited,
                accepted_by=by,
                override_reason=override_reason if overridden else "",
                exited_at=at,
                open_tasks=[task.title for task in open_tasks],
            )
        ]

    def _evolve(self, event: ElsEvent) -> None:
        match event:
            case ElsStarted():
                self.release_id = event.release_id
                self.environment = event.environment
                self.started_at = event.started_at
                self.planned_end = event.planned_end
                self.escalation_contact = event.escalation_contact
                self.services = list(event.services)
            case ElsCriteriaProposed():
                self.proposal = (list(event.criteria), event.proposed_by, event.side)
            case ElsCriteriaAgreed():
                self.criteria = list(event.criteria)
                self.normal_reached = False  # new criteria are judged afresh
                self.agreed_by = (event.agreed_by_deployment, event.agreed_by_operations)
                self.proposal = None
            case ElsObservationRecorded():
                self.observations[event.observation_id] = evaluation.Observation(
                    event.metric, event.value, event.observed_at
                )
            case ElsEscalated():
                self.escalated.add((event.metric, event.period_start))
            case ElsNormalReached():
                self.normal_reached = True
            case ElsExtended():
                self.planned_end = event.planned_end
                self.extensions += 1
            case ElsIncidentLinked():
                self.incidents.append((event.reference, event.kind))
            case ElsTaskAdded():
                self.tasks[event.task_id] = Task(
                    event.task_id, event.title, event.assignee, event.due
                )
            case ElsTaskDone():
                self.tasks[event.task_id].done_by = event.by
            case ElsFeedbackGiven():
                self.feedback.append((event.rating, event.comment, event.given_by))
            case ElsExited():
                self.exited = event


def _check_criteria(criteria: Sequence[Criterion]) -> None:
    if not criteria:
        raise InvalidField("criteria", "name at least one")
    seen: set[str] = set()
    for i, criterion in enumerate(criteria):
        if criterion.metric in seen:
            raise InvalidField(f"criteria.{i}.metric", "one criterion per metric")
        seen.add(criterion.metric)
        if criterion.tolerance < 0:
            raise InvalidField(f"criteria.{i}.tolerance", "must not be negative")
        if criterion.consecutive < 1:
            raise InvalidField(f"criteria.{i}.consecutive", "at least 1")
