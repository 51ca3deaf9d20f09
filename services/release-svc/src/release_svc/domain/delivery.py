"""Delivery metrics from what deploy-svc reported: how often releases reach production, how
long they take from plan to production, how often a deployment fails, how soon after a
failure an environment has a good deployment again."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from uuid import UUID


class Outcome(StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    """Failed before touching a target, or aborted where it was: not a good deployment."""
    ROLLED_BACK = "rolled_back"
    """Rolled back, during its waves or after it completed."""


@dataclass(frozen=True)
class Deployment:
    """One deployment as the read model remembers it: when each end was reached."""

    deployment_id: UUID
    release_id: UUID
    environment: str
    completed_at: datetime | None = None
    failed_at: datetime | None = None
    rolled_back_at: datetime | None = None

    @property
    def outcome(self) -> Outcome | None:
        """How it ended, the latest word winning (a completed deployment may be rolled back
        later); None while it runs."""
        if self.rolled_back_at is not None:
            return Outcome.ROLLED_BACK
        if self.failed_at is not None:
            return Outcome.FAILED
        if self.completed_at is not None:
            return Outcome.COMPLETED
        return None

    @property
    def finished_at(self) -> datetime | None:
        """When it first ended: the period it counts in."""
        ends = [t for t in (self.completed_at, self.failed_at, self.rolled_back_at) if t]
        return min(ends, default=None)

    @property
    def failed_or_rolled_back_at(self) -> datetime | None:
        """When it turned out bad: the failure time restoration is measured from."""
        return self.rolled_back_at or self.failed_at


@dataclass(frozen=True)
class Period:
    """From `start` (included) to `end` (excluded)."""

    start: datetime
    end: datetime

    @classmethod
    def last(cls, days: int, now: datetime) -> Period:
        return cls(now - timedelta(days=days), now)

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    def __contains__(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end


@dataclass(frozen=True)
class Durations:
    """How many, and their median and 90th percentile (nearest rank) in seconds."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None

    @classmethod
    def of(cls, values: Iterable[timedelta]) -> Durations:
        seconds = sorted(v.total_seconds() for v in values)
        if not seconds:
            return cls(0, None, None)
        p90 = seconds[math.ceil(0.9 * len(seconds)) - 1]
        return cls(len(seconds), statistics.median(seconds), p90)


@dataclass(frozen=True)
class Day:
    """Deployments that ended on one day (UTC), by how they ended."""

    day: date
    completed: int
    failed: int


@dataclass(frozen=True)
class Metrics:
    """The four delivery metrics over a period, for a set of environments."""

    period: Period
    deployments: int
    """Completed deployments in the period: the deployment frequency's count."""
    per_day: float
    per_week: float
    lead_time: Durations
    """From a release's plan (`ReleasePlanned`) to its first completed deployment, for the
    releases whose first completed deployment falls in the period."""
    finished: int
    failed: int
    change_failure_rate: float | None
    """Of the deployments that ended in the period, the share that failed or were rolled
    back; None when none ended."""
    time_to_restore: Durations
    """From a failure in the period to the next completed deployment in that environment."""
    unrestored: int
    """Failures not followed by a completed deployment yet."""
    days: list[Day]


def measure(
    deployments: Sequence[Deployment],
    planned_at: Mapping[UUID, datetime],
    period: Period,
) -> Metrics:
    """The metrics of `deployments` (all of the environments measured, whenever they ran)
    over `period`; `planned_at` holds when each release was planned."""
    completed = [d for d in deployments if d.completed_at in period]
    finished = [d for d in deployments if d.finished_at in period]
    failures = [d for d in finished if d.outcome in (Outcome.FAILED, Outcome.ROLLED_BACK)]
    restore_times, unrestored = _restore_times(deployments, period)
    return Metrics(
        period=period,
        deployments=len(completed),
        per_day=len(completed) / period.days,
        per_week=len(completed) * 7 / period.days,
        lead_time=Durations.of(_lead_times(deployments, planned_at, period)),
        finished=len(finished),
        failed=len(failures),
        change_failure_rate=len(failures) / len(finished) if finished else None,
        time_to_restore=Durations.of(restore_times),
        unrestored=unrestored,
        days=_by_day(finished, period),
    )


def _lead_times(
    deployments: Sequence[Deployment], planned_at: Mapping[UUID, datetime], period: Period
) -> list[timedelta]:
    first: dict[UUID, datetime] = {}
    for d in deployments:
        if d.completed_at is not None:
            known = first.get(d.release_id)
            first[d.release_id] = d.completed_at if known is None else min(known, d.completed_at)
    return [
        done - planned_at[release_id]
        for release_id, done in first.items()
        if done in period and release_id in planned_at
    ]


def _restore_times(
    deployments: Sequence[Deployment], period: Period
) -> tuple[list[timedelta], int]:
    restored: list[timedelta] = []
    unrestored = 0
    for failure in deployments:
        failed_at = failure.failed_or_rolled_back_at
        if failed_at not in period:
            continue
        assert failed_at is not None
        after = [
            d.completed_at
            for d in deployments
            # A good deployment restored service, even if it was rolled back days later.
            if d.environment == failure.environment
            and d.completed_at is not None
            and d.completed_at > failed_at
        ]
        if after:
            restored.append(min(after) - failed_at)
        else:
            unrestored += 1
    return restored, unrestored


def _by_day(finished: Sequence[Deployment], period: Period) -> list[Day]:
    counts: dict[date, list[int]] = {}
    day = period.start.date()
    while day <= (period.end - timedelta(microseconds=1)).date():
        counts[day] = [0, 0]
        day += timedelta(days=1)
    for d in finished:
        assert d.finished_at is not None
        slot = counts.setdefault(d.finished_at.date(), [0, 0])
        slot[0 if d.outcome is Outcome.COMPLETED else 1] += 1
    return [Day(day, completed, failed) for day, (completed, failed) in sorted(counts.items())]


@dataclass(frozen=True)
class FailureRate:
    finished: int
    failed: int

    @property
    def rate(self) -> float | None:
        return self.failed / self.finished if self.finished else None


@dataclass(frozen=True)
class Support:
    """A release's Early Life Support, as the benefits count it."""

    incidents: int = 0
    desk_calls: float = 0
    overran: bool = False
    """A case ran (or runs) past its first planned end."""


@dataclass(frozen=True)
class Measured:
    """What the benefits need of one release."""

    release_type: str | None
    team: str | None
    risk: str | None
    planned_end: date
    status: str
    actions: tuple[str, ...] = ()
    """Its improvement actions' states."""
    overdue_actions: int = 0
    support: Support = Support()


@dataclass(frozen=True)
class Benefits:
    """Beyond the four metrics, for the releases first deployed to these environments in
    the period: their dates against plan, their reviews and their improvement actions."""

    releases: int
    on_time: int
    """First completed deployment on or before the planned end."""
    late: int
    median_days_late: float | None
    reviewed: int
    """Closed, their review done (or not required)."""
    awaiting_review: int
    actions: int
    actions_done: int
    actions_overdue: int
    incidents: int
    """Incidents linked to their Early Life Support."""
    desk_calls: float
    els_overruns: int
    """Releases whose support ran past its first planned end."""


def benefits(
    deployments: Iterable[Deployment], releases: Mapping[UUID, Measured], period: Period
) -> Benefits:
    firsts: dict[UUID, datetime] = {}
    for d in deployments:
        if d.completed_at is not None:
            known = firsts.get(d.release_id)
            firsts[d.release_id] = min(known, d.completed_at) if known else d.completed_at
    measured = {r: firsts[r] for r in firsts if firsts[r] in period and r in releases}
    lateness = [(at.date() - releases[r].planned_end).days for r, at in measured.items()]
    late = [days for days in lateness if days > 0]
    states = [state for r in measured for state in releases[r].actions]
    return Benefits(
        releases=len(measured),
        on_time=len(lateness) - len(late),
        late=len(late),
        median_days_late=statistics.median(late) if late else None,
        reviewed=sum(releases[r].status == "closed" for r in measured),
        awaiting_review=sum(releases[r].status == "ready_for_review" for r in measured),
        actions=len(states),
        actions_done=states.count("done"),
        actions_overdue=sum(releases[r].overdue_actions for r in measured),
        incidents=sum(releases[r].support.incidents for r in measured),
        desk_calls=sum(releases[r].support.desk_calls for r in measured),
        els_overruns=sum(releases[r].support.overran for r in measured),
    )


def failure_rate_by_risk(
    deployments: Iterable[Deployment], risk_of: Mapping[UUID, str | None], period: Period
) -> dict[str, FailureRate]:
    """The change failure rate of the deployments that ended in the period, per the risk
    level their release was assessed at (`unassessed` for none)."""
    counts: dict[str, list[int]] = {}
    for d in deployments:
        if d.finished_at not in period:
            continue
        slot = counts.setdefault(risk_of.get(d.release_id) or "unassessed", [0, 0])
        slot[0] += 1
        slot[1] += d.outcome in (Outcome.FAILED, Outcome.ROLLED_BACK)
    return {level: FailureRate(*slot) for level, slot in sorted(counts.items())}
