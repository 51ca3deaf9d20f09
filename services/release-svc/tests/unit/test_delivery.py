"""Delivery metrics: frequency, lead time, change failure rate and time to restore."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from release_svc.domain.delivery import (
    Deployment,
    Durations,
    Measured,
    Period,
    Support,
    benefits,
    failure_rate_by_risk,
    measure,
)

NOW = datetime(2026, 12, 31, 12, tzinfo=UTC)
PERIOD = Period.last(30, NOW)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def deployment(
    *,
    release: UUID | None = None,
    environment: str = "production",
    completed: datetime | None = None,
    failed: datetime | None = None,
    rolled_back: datetime | None = None,
) -> Deployment:
    return Deployment(
        deployment_id=uuid4(),
        release_id=release or uuid4(),
        environment=environment,
        completed_at=completed,
        failed_at=failed,
        rolled_back_at=rolled_back,
    )


def test_nothing_deployed_measures_zero_and_no_rates() -> None:
    metrics = measure([], {}, PERIOD)
    assert (metrics.deployments, metrics.per_day, metrics.finished) == (0, 0, 0)
    assert metrics.change_failure_rate is None
    assert metrics.lead_time == Durations(0, None, None)
    assert len(metrics.days) == 31  # a 30-day period from noon touches 31 calendar days
    assert metrics.days[-1].day == date(2026, 12, 31)


def test_frequency_counts_the_deployments_completed_in_the_period() -> None:
    deployments = [deployment(completed=NOW - n * DAY) for n in (1, 2, 3, 40)]
    metrics = measure(deployments, {}, PERIOD)
    assert metrics.deployments == 3
    assert metrics.per_day == pytest.approx(3 / 30)
    assert metrics.per_week == pytest.approx(0.7)


def test_lead_time_runs_from_the_plan_to_the_first_completed_deployment() -> None:
    first, second, old = uuid4(), uuid4(), uuid4()
    deployments = [
        deployment(release=first, completed=NOW - 2 * DAY),
        deployment(release=first, completed=NOW - DAY),  # a second one is not its lead time
        deployment(release=second, completed=NOW - DAY),
        # Its first production deployment was before the period: not this period's.
        deployment(release=old, completed=NOW - 40 * DAY),
        deployment(release=old, completed=NOW - DAY),
    ]
    planned = {
        first: NOW - 12 * DAY,
        second: NOW - 5 * DAY,
        old: NOW - 50 * DAY,
    }
    lead = measure(deployments, planned, PERIOD).lead_time
    assert lead.count == 2
    assert lead.median_seconds == (10 * DAY + 4 * DAY).total_seconds() / 2
    assert lead.p90_seconds == (10 * DAY).total_seconds()


def test_failed_aborted_and_rolled_back_deployments_make_the_change_failure_rate() -> None:
    deployments = [
        deployment(completed=NOW - 5 * DAY),
        deployment(completed=NOW - 4 * DAY),
        deployment(failed=NOW - 3 * DAY),
        # Completed, then rolled back: a failed change, counted once.
        deployment(completed=NOW - 2 * DAY, rolled_back=NOW - 2 * DAY + HOUR),
        deployment(),  # still running: not finished
    ]
    metrics = measure(deployments, {}, PERIOD)
    assert (metrics.finished, metrics.failed) == (4, 2)
    assert metrics.change_failure_rate == 0.5
    assert metrics.deployments == 3  # the rolled-back one did complete


def test_time_to_restore_runs_to_the_next_good_deployment_in_the_same_environment() -> None:
    failure = NOW - 3 * DAY
    deployments = [
        deployment(rolled_back=failure),
        deployment(environment="production-eu", completed=failure + HOUR),  # elsewhere
        # Good at +2 h (which restores the first failure), rolled back at +3 h: failed anew.
        deployment(completed=failure + 2 * HOUR, rolled_back=failure + 3 * HOUR),
        deployment(completed=failure + 6 * HOUR),
        deployment(failed=NOW - HOUR),  # not restored yet
    ]
    metrics = measure(deployments, {}, PERIOD)
    restore = metrics.time_to_restore
    assert restore.count == 2
    # failure → +2 h, and the second failure (+3 h) → +6 h.
    assert restore.median_seconds == (2 * HOUR + 3 * HOUR).total_seconds() / 2
    assert metrics.unrestored == 1


def test_each_day_counts_the_deployments_that_ended_on_it_by_outcome() -> None:
    day = datetime(2026, 12, 30, 9, tzinfo=UTC)
    deployments = [
        deployment(completed=day),
        deployment(completed=day + HOUR),
        deployment(failed=day + 2 * HOUR),
    ]
    by_day = {d.day: (d.completed, d.failed) for d in measure(deployments, {}, PERIOD).days}
    assert by_day[date(2026, 12, 30)] == (2, 1)
    assert by_day[date(2026, 12, 29)] == (0, 0)


def test_percentiles_take_the_nearest_rank() -> None:
    durations = Durations.of(timedelta(seconds=s) for s in range(1, 11))
    assert (durations.count, durations.median_seconds, durations.p90_seconds) == (10, 5.5, 9)


def measured(
    planned_end: date, status: str = "deployed", *actions: str, overdue: int = 0
) -> Measured:
    support = Support(incidents=2, desk_calls=5, overran=status == "closed")
    return Measured("minor", None, "low", planned_end, status, tuple(actions), overdue, support)


def test_benefits_weigh_the_releases_first_deployed_in_the_period() -> None:
    on_time, late, earlier = uuid4(), uuid4(), uuid4()
    releases = {
        on_time: measured(date(2026, 12, 20), "closed", "done", "dropped"),
        late: measured(date(2026, 12, 10), "ready_for_review", "open", overdue=1),
        earlier: measured(date(2026, 10, 1), "closed", "done"),
    }
    deployments = [
        deployment(release=on_time, completed=NOW - 12 * DAY),  # Dec 19
        deployment(release=late, completed=NOW - 17 * DAY),  # Dec 14: four days late
        deployment(release=late, completed=NOW - DAY),  # not its first
        deployment(release=earlier, completed=NOW - 60 * DAY),  # first before the period
        deployment(release=earlier, completed=NOW - 2 * DAY),
    ]
    found = benefits(deployments, releases, PERIOD)
    assert (found.releases, found.on_time, found.late, found.median_days_late) == (2, 1, 1, 4)
    assert (found.reviewed, found.awaiting_review) == (1, 1)
    assert (found.actions, found.actions_done, found.actions_overdue) == (3, 1, 1)
    assert (found.incidents, found.desk_calls, found.els_overruns) == (4, 10, 1)


def test_the_failure_rate_is_split_by_the_releases_risk() -> None:
    high, unassessed = uuid4(), uuid4()
    deployments = [
        deployment(release=high, failed=NOW - DAY),
        deployment(release=high, completed=NOW - DAY),
        deployment(release=unassessed, completed=NOW - DAY),
        deployment(release=high, completed=NOW - 90 * DAY),  # before the period
    ]
    by_risk = failure_rate_by_risk(deployments, {high: "high", unassessed: None}, PERIOD)
    assert {level: (r.finished, r.failed, r.rate) for level, r in by_risk.items()} == {
        "high": (2, 1, 0.5),
        "unassessed": (1, 0, 0.0),
    }
