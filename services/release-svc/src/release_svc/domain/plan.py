"""Rules of a release's plan that need no I/O: activity dates, risk, communication timing."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta

from ferry.errors import InvalidField
from ferry.events.release import (
    ACTUAL_MILESTONES,
    Activity,
    CommunicationEntry,
    DeploymentWindow,
    Level,
    Milestone,
    Span,
)


class InvalidPlan(InvalidField):
    """A release plan that breaks a rule, naming the field at fault."""


def check_dates(start: date, end: date, activities: Mapping[Activity, Span]) -> None:
    """The release ends after it starts, and each activity lies within it."""
    if end < start:
        raise InvalidPlan("planned_end", "must not be before planned_start")
    for activity, span in activities.items():
        if span.end < span.start:
            raise InvalidPlan(f"activities.{activity}.end", "must not be before its start")
        if span.start < start or span.end > end:
            raise InvalidPlan(
                f"activities.{activity}", f"must lie within the release's {start} to {end}"
            )


_SCORE = {Level.LOW: 1, Level.MEDIUM: 2, Level.HIGH: 3}


def risk_level(likelihood: Level, impact: Level) -> Level:
    """The usual likelihood-by-impact matrix: score 1 or 2 low, 3 or 4 medium, 6 or 9 high."""
    score = _SCORE[likelihood] * _SCORE[impact]
    return Level.LOW if score <= 2 else Level.MEDIUM if score <= 4 else Level.HIGH


def entry_id(
    audience: str,
    channel: str,
    message: str,
    milestone: Milestone,
    offset: timedelta,
    acknowledge: bool = False,
) -> str:
    """Stable while the entry stays the same, so re-sending a plan does not re-announce it."""
    parts = [audience, channel, message, str(milestone), str(offset.total_seconds())]
    # Only when asked: the entries planned before acknowledgements keep their ids.
    text = "\x1f".join([*parts, "acknowledge"] if acknowledge else parts)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def milestone_time(
    milestone: Milestone,
    planned: Span,
    activities: Mapping[Activity, Span],
    windows: Sequence[DeploymentWindow],
    actual: Mapping[Milestone, datetime],
) -> datetime | None:
    """When `milestone` happens, or None while the plan does not say (or, for what actually
    happens, until it has).

    Dates count from midnight UTC: a start at the beginning of its day, an end at the end
    of it. The deployment is timed by its windows where the plan has any, being more exact.
    """
    if milestone in ACTUAL_MILESTONES:
        return actual.get(milestone)
    if milestone is Milestone.DEPLOYMENT_START and windows:
        return min(w.start for w in windows)
    if milestone is Milestone.DEPLOYMENT_END and windows:
        return max(w.end for w in windows)
    name, edge = str(milestone).rsplit("_", 1)
    span = planned if name == "release" else activities.get(Activity(name))
    if span is None:
        return None
    return _midnight(span.start) if edge == "start" else _midnight(span.end) + timedelta(days=1)


def due_at(
    entry: CommunicationEntry,
    planned: Span,
    activities: Mapping[Activity, Span],
    windows: Sequence[DeploymentWindow],
    actual: Mapping[Milestone, datetime],
) -> datetime | None:
    at = milestone_time(entry.milestone, planned, activities, windows, actual)
    return None if at is None else at + entry.offset
