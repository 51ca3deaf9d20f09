"""What els-svc reported of releases' Early Life Support, kept for their reviews.

Each event sets only what it carries, so the tables come out the same however often an
event is read again (a case's events share a partition, so they come in order).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from ferry.db import UnitOfWork
from ferry.events.els import (
    ElsEscalated,
    ElsEvent,
    ElsFeedbackGiven,
    ElsIncidentLinked,
    ElsObservationRecorded,
)
from release_svc.domain.delivery import Support
from release_svc.domain.review_draft import ElsCase, Feedback


async def case_started(
    uow: UnitOfWork, event: ElsEvent, at: datetime, planned_end: datetime | None
) -> None:
    update = "started_at = COALESCE(c.started_at, $2), planned_end = COALESCE(c.planned_end, $3)"
    await _case(uow, event, update, at, planned_end)


async def desk_calls(uow: UnitOfWork, event: ElsObservationRecorded) -> None:
    """Desk calls observed during the case (`desk_calls`, the metric the service desk's
    tool reports), each observation once."""
    await uow.execute(
        f'INSERT INTO "{uow.schema}".els_desk_calls (case_id, observation_id, release_id, value) '
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        event.case_id,
        event.observation_id,
        event.release_id,
        event.value,
    )


async def measures(uow: UnitOfWork, release_ids: list[UUID], now: datetime) -> dict[UUID, Support]:
    """Per release: its incidents and desk calls during Early Life Support, and whether a
    case of it ran (or runs) past its first planned end."""
    rows = await uow.fetch(
        f"""SELECT r.release_id,
                (SELECT count(*) FROM "{uow.schema}".els_incidents i
                  WHERE i.release_id = r.release_id AND i.kind = 'incident') AS incidents,
                (SELECT COALESCE(sum(value), 0) FROM "{uow.schema}".els_desk_calls d
                  WHERE d.release_id = r.release_id) AS desk_calls,
                EXISTS (SELECT FROM "{uow.schema}".els_cases c
                  WHERE c.release_id = r.release_id AND c.planned_end IS NOT NULL
                    AND COALESCE(c.exited_at, $2) > c.planned_end) AS overran
            FROM unnest($1::uuid[]) AS r(release_id)""",
        release_ids,
        now,
    )
    return {
        row["release_id"]: Support(row["incidents"], row["desk_calls"], row["overran"])
        for row in rows
    }


async def case_exited(uow: UnitOfWork, event: ElsEvent, at: datetime, override: str) -> None:
    await _case(uow, event, "exited_at = $2, override_reason = $3", at, override)


async def case_escalated(uow: UnitOfWork, event: ElsEscalated) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".els_escalations (case_id, metric, period_start) '
        "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        event.case_id,
        event.metric,
        event.period_start,
    )


async def _case(uow: UnitOfWork, event: ElsEvent, update: str, *values: object) -> None:
    """Make the case's row if this is the first word of it, then `update` it ($1 the case,
    `values` from $2)."""
    await uow.execute(
        f'INSERT INTO "{uow.schema}".els_cases AS c (case_id, release_id, environment) '
        "VALUES ($1, $2, $3) ON CONFLICT (case_id) DO NOTHING",
        event.case_id,
        event.release_id,
        event.environment,
    )
    await uow.execute(
        f'UPDATE "{uow.schema}".els_cases AS c SET {update} WHERE case_id = $1',
        event.case_id,
        *values,
    )


async def incident_linked(uow: UnitOfWork, event: ElsIncidentLinked) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".els_incidents (case_id, release_id, reference, kind) '
        "VALUES ($1, $2, $3, $4) ON CONFLICT (case_id, reference) DO NOTHING",
        event.case_id,
        event.release_id,
        event.reference,
        event.kind,
    )


async def feedback_given(
    uow: UnitOfWork, event: ElsFeedbackGiven, event_id: UUID, at: datetime
) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".els_feedback '
        "(event_id, case_id, release_id, rating, comment, given_by, given_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
        event_id,
        event.case_id,
        event.release_id,
        event.rating,
        event.comment,
        event.given_by,
        at,
    )


async def cases_of(uow: UnitOfWork, release_id: UUID) -> list[ElsCase]:
    rows = await uow.fetch(
        "SELECT c.environment, c.started_at, c.exited_at, c.override_reason, "
        f'  (SELECT count(*) FROM "{uow.schema}".els_escalations e '
        "    WHERE e.case_id = c.case_id)::int AS escalations, "
        f'  ARRAY(SELECT i.reference FROM "{uow.schema}".els_incidents i '
        "    WHERE i.case_id = c.case_id AND i.kind = 'incident' ORDER BY i.reference) "
        "    AS incidents "
        f'FROM "{uow.schema}".els_cases c '
        "WHERE c.release_id = $1 ORDER BY c.started_at NULLS LAST, c.case_id",
        release_id,
    )
    return [ElsCase(**{**dict(row), "incidents": tuple(row["incidents"])}) for row in rows]


async def feedback_of(uow: UnitOfWork, release_id: UUID) -> list[Feedback]:
    rows = await uow.fetch(
        "SELECT rating, comment, given_by "
        f'FROM "{uow.schema}".els_feedback WHERE release_id = $1 ORDER BY given_at, event_id',
        release_id,
    )
    return [Feedback(**dict(row)) for row in rows]
