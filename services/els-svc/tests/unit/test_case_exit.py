"""Leaving Early Life Support: normal reached and the case's own tasks done, or a reason."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from els_svc.domain.case import ElsCase, OpenCase, TasksOpen
from ferry.events.els import ElsEvent, ElsExited, ElsNormalReached

START = datetime(2026, 12, 10, tzinfo=UTC)


def applied(case: ElsCase, events: list[ElsEvent]) -> ElsCase:
    for event in events:
        case.apply(event)
    return case


def normal() -> ElsCase:
    """A case whose criteria held: normal is reached."""
    case = ElsCase(uuid4())
    case = applied(case, case.open(OpenCase(case.id, uuid4(), "production", None, START, None, "")))
    assert case.release_id is not None
    reached = ElsNormalReached(
        case_id=case.id, release_id=case.release_id, environment="production"
    )
    return applied(case, [reached])


def exited(events: list[ElsEvent]) -> ElsExited:
    [event] = events
    assert isinstance(event, ElsExited)
    return event


def test_exit_waits_for_the_cases_tasks_unless_overridden() -> None:
    case = normal()
    task_id = uuid4()
    case = applied(case, case.add_task(task_id, "brief the night shift", "olly", None))
    with pytest.raises(TasksOpen) as refused:
        case.exit("otto", START)
    assert refused.value.status == 409
    assert refused.value.extensions()["tasks"] == [
        {"task_id": str(task_id), "title": "brief the night shift", "assignee": "olly"}
    ]
    overridden = exited(case.exit("otto", START, "the shift lead briefs them tonight"))
    assert overridden.open_tasks == ["brief the night shift"]
    assert overridden.override_reason == "the shift lead briefs them tonight"

    done = applied(case, case.complete_task(task_id, "olly"))
    clean = exited(done.exit("otto", START, "a reason nobody needs"))
    assert (clean.override_reason, clean.open_tasks) == ("", [])
