"""The review drafted from the record: deployments, Early Life Support, feedback, dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

from ferry.events.release import Activity, Span
from release_svc.domain.commands import PlanRelease
from release_svc.domain.delivery import Deployment
from release_svc.domain.release import Release
from release_svc.domain.review_draft import ElsCase, Feedback, Record, draft
from tests.support.releases import applied, planned


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 12, day, hour, tzinfo=UTC)


def deployment(environment: str, **ends: datetime) -> Deployment:
    return Deployment(uuid4(), uuid4(), environment, **ends)


def case(
    started: datetime | None,
    exited: datetime | None,
    *incidents: str,
    override_reason: str = "",
    escalations: int = 0,
) -> ElsCase:
    return ElsCase("production", started, exited, override_reason, escalations, incidents)


def test_nothing_reported_yet_drafts_an_empty_record() -> None:
    nothing = draft(planned(), Record())
    assert nothing.deployment_outcome == "no deployment was reported"
    assert (nothing.incidents_during_els, nothing.els_duration_days) == (0, None)
    assert (nothing.satisfaction, nothing.feedback) == (None, ())
    assert [(d.milestone, d.actual, d.slip_days) for d in nothing.dates] == [
        ("deployed", None, None),
        ("early life support started", None, None),
        ("early life support ended", None, None),
    ]


def test_deployments_are_told_in_the_order_they_ended() -> None:
    record = Record(
        deployments=[
            deployment("production", completed_at=at(10)),
            deployment("staging", completed_at=at(8), rolled_back_at=at(8, 13)),
            deployment("canary"),
        ]
    )
    assert draft(planned(), record).deployment_outcome == (
        "staging: rolled back on 2026-12-08; production: completed on 2026-12-10; "
        "canary: still running"
    )


def test_els_counts_incidents_once_and_spans_the_cases() -> None:
    record = Record(
        cases=[
            case(at(10), at(19), "INC-2", "INC-1", escalations=1),
            case(at(11), at(20, 0), "INC-1", override_reason="ops took over"),
        ]
    )
    drafted = draft(planned(), record)
    assert drafted.incidents == ("INC-1", "INC-2")
    assert drafted.incidents_during_els == 2
    assert drafted.els_duration_days == 9.5
    assert drafted.els_escalations == 1
    assert drafted.els_overrides == ("ops took over",)


def test_a_case_still_running_leaves_the_duration_and_end_unknown() -> None:
    drafted = draft(planned(), Record(cases=[case(at(10), at(12)), case(at(11), None)]))
    assert drafted.els_duration_days is None
    assert drafted.dates[2].actual is None


def test_satisfaction_is_the_mean_rating() -> None:
    feedback = [Feedback(5, "smooth", "desk"), Feedback(2, "late notice", "ops")]
    drafted = draft(planned(), Record(feedback=feedback))
    assert drafted.satisfaction == 3.5
    assert drafted.feedback == tuple(feedback)


def test_planned_dates_are_set_against_the_actual_ones_in_production() -> None:
    release_id = uuid4()
    cmd = PlanRelease(
        release_id,
        "Payments",
        "1.0",
        date(2026, 12, 1),
        date(2026, 12, 20),
        release_manager="rita",
        identifier="REL-2026-0007",
        activities={
            Activity.DEPLOYMENT: Span(start=date(2026, 12, 9), end=date(2026, 12, 9)),
            Activity.EARLY_LIFE_SUPPORT: Span(start=date(2026, 12, 9), end=date(2026, 12, 18)),
        },
    )
    release = Release(release_id)
    release = applied(release, release.plan(cmd))
    deployed = [
        deployment("staging", completed_at=at(8)),
        deployment("production", completed_at=at(11)),
    ]
    record = Record(deployed, cases=[case(at(11), at(17))], production=frozenset({"production"}))
    dates = {d.milestone: (d.planned, d.actual, d.slip_days) for d in draft(release, record).dates}
    assert dates == {
        "deployed": (date(2026, 12, 9), date(2026, 12, 11), 2),
        "early life support started": (date(2026, 12, 9), date(2026, 12, 11), 2),
        "early life support ended": (date(2026, 12, 18), date(2026, 12, 17), -1),
    }
    # Without production environments known, any deployment counts.
    anywhere = draft(release, Record(deployed)).dates[0]
    assert anywhere.actual == date(2026, 12, 8)
