"""Early Life Support as els-svc reports it on `els.events`, kept for reviews by a consumer
of its own (`ServiceSpec.projections`): it reads the topic from its beginning, so releases
reviewed after it was added have their whole record."""

from __future__ import annotations

from collections.abc import Mapping

from ferry.consuming import EventHandler
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.events.els import (
    ElsEscalated,
    ElsExited,
    ElsFeedbackGiven,
    ElsIncidentLinked,
    ElsObservationRecorded,
    ElsStarted,
)
from release_svc.adapters import els_record

DESK_CALLS = "desk_calls"
"""The metric the service desk's tool reports calls as (els-svc's signals)."""


async def on_started(event: ElsStarted, envelope: Envelope, uow: UnitOfWork) -> None:
    at = event.started_at or envelope.time
    await els_record.case_started(uow, event, at, event.planned_end)


async def on_observation(event: ElsObservationRecorded, _: Envelope, uow: UnitOfWork) -> None:
    if event.metric == DESK_CALLS:
        await els_record.desk_calls(uow, event)


async def on_exited(event: ElsExited, envelope: Envelope, uow: UnitOfWork) -> None:
    at = event.exited_at or envelope.time
    await els_record.case_exited(uow, event, at, event.override_reason)


async def on_escalated(event: ElsEscalated, _: Envelope, uow: UnitOfWork) -> None:
    await els_record.case_escalated(uow, event)


async def on_incident(event: ElsIncidentLinked, _: Envelope, uow: UnitOfWork) -> None:
    await els_record.incident_linked(uow, event)


async def on_feedback(event: ElsFeedbackGiven, envelope: Envelope, uow: UnitOfWork) -> None:
    await els_record.feedback_given(uow, event, envelope.id, envelope.time)


CONSUMES: Mapping[str, Mapping[type[Event], EventHandler]] = {
    "els.events": {
        ElsStarted: on_started,
        ElsExited: on_exited,
        ElsEscalated: on_escalated,
        ElsIncidentLinked: on_incident,
        ElsFeedbackGiven: on_feedback,
        ElsObservationRecorded: on_observation,
    }
}
