"""Judging "normal": observations gathered per period, each closed period measured against
its criterion. Plain functions of the case's facts and the time."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ferry.events.els import Aggregate, Criterion, Direction, Period

LENGTH = {
    Period.MINUTE: timedelta(minutes=1),
    Period.HOUR: timedelta(hours=1),
    Period.DAY: timedelta(days=1),
}
GRACE = {
    Period.MINUTE: timedelta(seconds=5),
    Period.HOUR: timedelta(minutes=5),
    Period.DAY: timedelta(hours=1),
}
"""How long after a period ends its late signals are still waited for before it is judged."""


@dataclass(frozen=True)
class Observation:
    metric: str
    value: float
    at: datetime


@dataclass(frozen=True)
class Measured:
    """One closed period of one criterion."""

    start: datetime
    value: float | None
    """None: no observation in a period of a gauge (unknown, so it does not hold)."""
    limit: float
    holds: bool


def period_start(moment: datetime, period: Period) -> datetime:
    moment = moment.astimezone(UTC)
    if period is Period.MINUTE:
        return moment.replace(second=0, microsecond=0)
    if period is Period.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def limit_of(criterion: Criterion) -> float:
    """The worst value that still holds."""
    margin = abs(criterion.baseline) * criterion.tolerance
    if criterion.direction is Direction.AT_MOST:
        return criterion.baseline + margin
    return criterion.baseline - margin


def _aggregate(values: Sequence[float], aggregate: Aggregate) -> float | None:
    if not values:
        return 0.0 if aggregate is Aggregate.SUM else None
    if aggregate is Aggregate.SUM:
        return sum(values)
    if aggregate is Aggregate.MAX:
        return max(values)
    return statistics.fmean(values)


def measured(
    criterion: Criterion, observations: Iterable[Observation], since: datetime, now: datetime
) -> list[Measured]:
    """The criterion's closed periods from the first whole one after `since` up to `now`,
    oldest first (a period begun before the deployment says nothing of the release). A
    period is closed once it ended and its grace for late signals passed."""
    length, grace = LENGTH[criterion.period], GRACE[criterion.period]
    buckets: dict[datetime, list[float]] = {}
    for seen in observations:
        if seen.metric == criterion.metric:
            buckets.setdefault(period_start(seen.at, criterion.period), []).append(seen.value)
    limit = limit_of(criterion)
    result = []
    start = period_start(since, criterion.period)
    if start < since:
        start += length
    while start + length + grace <= now:
        value = _aggregate(buckets.get(start, []), criterion.aggregate)
        if value is None:
            holds = False
        elif criterion.direction is Direction.AT_MOST:
            holds = value <= limit
        else:
            holds = value >= limit
        result.append(Measured(start, value, limit, holds))
        start += length
    return result


def held(criterion: Criterion, periods: Sequence[Measured]) -> bool:
    """Whether the latest `consecutive` closed periods all held."""
    latest = periods[-criterion.consecutive :]
    return len(latest) == criterion.consecutive and all(p.holds for p in latest)


def normal(
    criteria: Sequence[Criterion],
    per_criterion: Mapping[str, Sequence[Measured]],
    observed: Set[str],
) -> bool:
    """Every criterion held its periods in a row, and each metric was observed at all: a
    count no tool ever sent is not known to be quiet."""
    return bool(criteria) and all(
        c.metric in observed and held(c, per_criterion[c.metric]) for c in criteria
    )


def breaches(per_criterion: Mapping[str, Sequence[Measured]]) -> list[tuple[str, Measured]]:
    """Every closed period beyond its tolerance (a gauge's unknown period is not one)."""
    return [
        (metric, period)
        for metric, periods in per_criterion.items()
        for period in periods
        if period.value is not None and not period.holds
    ]


BASELINE_PERIODS = 7
"""Periods before the deployment a computed baseline averages."""


def baseline_window(period: Period, started: datetime) -> tuple[datetime, datetime]:
    """The periods a computed baseline is taken from: the last `BASELINE_PERIODS` whole
    periods before the one the deployment fell in."""
    end = period_start(started, period)
    return end - LENGTH[period] * BASELINE_PERIODS, end


def computed_baseline(
    metric: str,
    aggregate: Aggregate,
    period: Period,
    observations: Iterable[Observation],
    started: datetime,
) -> float | None:
    """The mean, over the periods before the deployment, of the metric per period; None
    when nothing was observed then."""
    since, until = baseline_window(period, started)
    seen = [o for o in observations if o.metric == metric and since <= o.at < until]
    if not seen:
        return None
    buckets: dict[datetime, list[float]] = {}
    for observation in seen:
        buckets.setdefault(period_start(observation.at, period), []).append(observation.value)
    if aggregate is Aggregate.SUM:  # a count: quiet periods counted nothing
        totals = [sum(buckets.get(since + LENGTH[period] * i, [])) for i in range(BASELINE_PERIODS)]
        return statistics.fmean(totals)
    values = [_aggregate(v, aggregate) for v in buckets.values()]
    return statistics.fmean(v for v in values if v is not None)


def extension(criteria: Sequence[Criterion]) -> timedelta:
    """How much longer support goes on when the planned end passes without normal: enough
    for the slowest criterion to hold its periods in a row once more."""
    if not criteria:
        return timedelta(days=7)
    return max(LENGTH[c.period] * c.consecutive + GRACE[c.period] for c in criteria)
