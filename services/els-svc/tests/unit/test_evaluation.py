"""Judging "normal": consecutive periods, tolerance, missing periods, late and duplicate
observations, escalation and extension."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from els_svc.domain.case import ElsCase, OpenCase, SameSide
from els_svc.domain.evaluation import (
    Observation,
    computed_baseline,
    held,
    limit_of,
    measured,
)
from ferry.errors import InvalidField
from ferry.events.els import (
    Aggregate,
    Criterion,
    Direction,
    ElsEscalated,
    ElsEvent,
    ElsExtended,
    ElsNormalReached,
    Period,
)

START = datetime(2026, 12, 10, 0, 0, tzinfo=UTC)
CALLS = Criterion(metric="desk_calls", baseline=10, tolerance=0.2, period=Period.DAY, consecutive=2)
LATENCY = Criterion(
    metric="p95_ms",
    baseline=200,
    tolerance=0.1,
    aggregate=Aggregate.MAX,
    period=Period.HOUR,
    consecutive=3,
)


def day(n: int, hour: int = 12) -> datetime:
    return START + timedelta(days=n, hours=hour)


def applied(case: ElsCase, events: list[ElsEvent]) -> ElsCase:
    for event in events:
        case.apply(event)
    return case


def opened(*criteria: Criterion, planned_days: int = 5) -> ElsCase:
    case = ElsCase(uuid4())
    cmd = OpenCase(
        case.id,
        uuid4(),
        "production",
        uuid4(),
        START,
        START + timedelta(days=planned_days),
        "payments-oncall",
    )
    case = applied(case, case.open(cmd))
    case = applied(case, case.propose(list(criteria), "dora", "deployment"))
    return applied(case, case.agree("otto", "operations"))


def test_the_limit_follows_direction_and_tolerance() -> None:
    assert limit_of(CALLS) == 12
    assert limit_of(
        Criterion(
            metric="availability", baseline=99.0, tolerance=0.01, direction=Direction.AT_LEAST
        )
    ) == pytest.approx(98.01)


def test_counts_sum_per_period_and_a_missing_day_counted_nothing() -> None:
    seen = [Observation("desk_calls", 5, day(0, 9)), Observation("desk_calls", 4, day(0, 15))]
    periods = measured(CALLS, seen, START, day(2))
    assert [p.value for p in periods] == [9, 0]  # day 2 is not over yet
    assert [p.holds for p in periods] == [True, True]


def test_a_gauge_without_observations_is_unknown_and_does_not_hold() -> None:
    periods = measured(
        LATENCY,
        [Observation("p95_ms", 180, START + timedelta(minutes=10))],
        START,
        START + timedelta(hours=2, minutes=10),
    )
    assert [(p.value, p.holds) for p in periods] == [(180, True), (None, False)]


def test_normal_needs_the_consecutive_periods_in_a_row() -> None:
    seen = [Observation("desk_calls", v, day(i)) for i, v in enumerate([30, 11, 9])]
    periods = measured(CALLS, seen, START, day(3, 2))
    assert [p.holds for p in periods] == [False, True, True]
    assert held(CALLS, periods)
    assert not held(CALLS, periods[:2])


def test_a_case_escalates_a_breach_once_and_reaches_normal() -> None:
    case = opened(CALLS)
    for i, calls in enumerate([30, 11, 9]):
        case = applied(case, case.observe(f"sig-{i}", "desk_calls", calls, day(i), "ops.signals"))
    decided = case.evaluate(day(1, 2))
    [escalation] = decided
    assert isinstance(escalation, ElsEscalated)
    assert (escalation.value, escalation.limit, escalation.contact) == (30, 12, "payments-oncall")
    case = applied(case, decided)
    assert case.evaluate(day(1, 3)) == []  # the same breach is not escalated twice
    decided = case.evaluate(day(3, 2))
    assert [type(e) for e in decided] == [ElsNormalReached]


def test_duplicate_and_late_observations() -> None:
    case = opened(CALLS)
    case = applied(case, case.observe("sig-1", "desk_calls", 9, day(0), "ops.signals"))
    assert case.observe("sig-1", "desk_calls", 9, day(0), "ops.signals") == []  # duplicate
    # A late signal for day 0, arriving within the grace, still counts for day 0.
    case = applied(case, case.observe("sig-2", "desk_calls", 5, day(0, 23), "ops.signals"))
    [first, *_] = case.periods(day(1, 2))["desk_calls"]
    assert first.value == 14
    assert not first.holds


def test_the_planned_end_passing_without_normal_extends_support() -> None:
    case = opened(CALLS, planned_days=1)
    decided = case.evaluate(day(1, 2))
    extended = [e for e in decided if isinstance(e, ElsExtended)]
    assert extended[0].planned_end > day(1, 2)
    case = applied(case, decided)
    assert case.extensions == 1


def test_criteria_are_agreed_by_the_other_side_and_exit_needs_normal_or_a_reason() -> None:
    case = ElsCase(uuid4())
    cmd = OpenCase(case.id, uuid4(), "production", None, START, None, "")
    case = applied(case, case.open(cmd))
    case = applied(case, case.propose([CALLS], "dora", "deployment"))
    with pytest.raises(SameSide):
        case.agree("dora2", "deployment")
    with pytest.raises(InvalidField) as refused:
        case.exit("otto", START)
    assert refused.value.field == "override_reason"
    [exited] = case.exit("otto", START, "the desk is confident")
    assert exited.override_reason == "the desk is confident"  # type: ignore[attr-defined]


def test_a_baseline_is_the_mean_per_period_before_the_deployment() -> None:
    started = START + timedelta(days=7, hours=9)
    before = [
        Observation("desk_calls", 7, START + timedelta(days=1, hours=3)),
        Observation("desk_calls", 7, START + timedelta(days=1, hours=20)),
        Observation("desk_calls", 14, START + timedelta(days=4)),
        Observation("desk_calls", 99, started),  # after: not part of it
    ]
    # 7 days before the deployment's day: 14 on day 1, 14 on day 4, 0 on the 5 others.
    assert computed_baseline("desk_calls", Aggregate.SUM, Period.DAY, before, started) == 4
    assert computed_baseline("p95_ms", Aggregate.MAX, Period.DAY, before, started) is None


def test_no_signal_at_all_is_not_normal_and_a_late_breach_after_normal_escalates() -> None:
    case = opened(CALLS)
    assert case.evaluate(day(4)) == []  # quiet, but nobody ever counted
    for i, calls in enumerate([9, 9]):
        case = applied(case, case.observe(f"sig-{i}", "desk_calls", calls, day(i), "desk"))
    case = applied(case, case.evaluate(day(2, 2)))
    assert case.normal_reached
    late = case.observe("late", "desk_calls", 20, day(1, 23), "desk")  # after the grace
    case = applied(case, late)
    [escalation] = case.evaluate(day(2, 3))
    assert isinstance(escalation, ElsEscalated)
    assert escalation.value == 29


def test_a_period_begun_before_the_deployment_is_not_judged() -> None:
    since = START + timedelta(hours=10)
    seen = [Observation("desk_calls", 50, START + timedelta(hours=2))]  # before, same day
    assert [p.start for p in measured(CALLS, seen, since, day(2))] == [START + timedelta(days=1)]
