from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from ferry.events.release import (
    CommunicationEntry,
    CommunicationPlanSet,
    Milestone,
    ReleaseCancelled,
    ReleaseClosed,
    ReleaseEvent,
    ReleaseRescheduled,
)
from ferry.testing import release_planned
from release_svc.domain.communications import Planned, announcements, is_due, schedule
from release_svc.domain.release import Release

RELEASE = uuid4()
WEEK_BEFORE = CommunicationEntry(
    entry_id="week-before",
    audience="service desk",
    channel="email",
    message="Payments changes next week",
    milestone=Milestone.RELEASE_START,
    offset=timedelta(days=-7),
)
AFTER = CommunicationEntry(
    entry_id="after",
    audience="users",
    channel="intranet",
    message="Payments changed",
    milestone=Milestone.RELEASE_END,
    offset=timedelta(0),
)
DUE = datetime(2026, 11, 24, tzinfo=UTC)
"""WEEK_BEFORE's due time: 7 days before the release starts on 1 December."""


def release(*later: ReleaseEvent) -> Release:
    planned = release_planned(
        release_id=RELEASE, planned_start=date(2026, 12, 1), planned_end=date(2026, 12, 2)
    )
    plan = CommunicationPlanSet(release_id=RELEASE, entries=[WEEK_BEFORE, AFTER])
    return Release.replay(RELEASE, [planned, plan, *later])


def moved(start: date, end: date) -> ReleaseRescheduled:
    return ReleaseRescheduled(release_id=RELEASE, planned_start=start, planned_end=end, reason="x")


def test_each_entry_falls_due_by_its_milestone_and_offset() -> None:
    assert schedule(release()) == {
        "week-before": DUE,
        "after": datetime(2026, 12, 3, tzinfo=UTC),  # the end of the last day
    }


def test_a_cancelled_or_closed_release_has_nothing_left_to_announce() -> None:
    assert schedule(release(ReleaseCancelled(release_id=RELEASE, reason="x"))) == {}
    assert schedule(release(ReleaseClosed(release_id=RELEASE, reason="x"))) == {}


def test_an_entry_is_due_from_its_due_time_until_it_is_announced() -> None:
    assert not is_due(Planned("e", DUE), DUE - timedelta(seconds=1))
    assert is_due(Planned("e", DUE), DUE)
    assert is_due(Planned("e", DUE), DUE + timedelta(days=3))
    assert not is_due(
        Planned("e", DUE, announced_at=DUE + timedelta(seconds=5)), DUE + timedelta(1)
    )
    assert not is_due(Planned("e", None), DUE)


def test_a_due_time_moved_past_the_announcement_is_announced_again_at_that_time() -> None:
    announced = DUE + timedelta(seconds=30)
    later = Planned("e", DUE + timedelta(days=7), announced_at=announced)
    assert not is_due(later, DUE + timedelta(days=6))
    assert is_due(later, DUE + timedelta(days=7))


def test_a_due_time_moved_to_before_the_announcement_is_not_announced_again() -> None:
    announced = DUE + timedelta(days=2)  # announced late, the service having been down
    for new_due in (DUE - timedelta(days=7), DUE + timedelta(days=1), announced):
        assert not is_due(Planned("e", new_due, announced_at=announced), DUE + timedelta(days=9))


def test_claimed_entries_due_by_the_release_are_announced_with_their_due_time() -> None:
    [event] = announcements(release(), [Planned("week-before", DUE)], DUE)
    assert (event.release_id, event.entry, event.due_at) == (RELEASE, WEEK_BEFORE, DUE)


def test_an_entry_the_release_no_longer_has_or_times_otherwise_is_not_announced() -> None:
    now = DUE + timedelta(days=30)
    rescheduled = release(moved(date(2026, 12, 8), date(2026, 12, 9)))
    assert announcements(rescheduled, [Planned("week-before", DUE)], now) == []
    assert announcements(release(), [Planned("gone", DUE)], now) == []
    cancelled = release(ReleaseCancelled(release_id=RELEASE, reason="x"))
    assert announcements(cancelled, [Planned("week-before", DUE)], now) == []


def test_an_entry_not_yet_due_is_not_announced() -> None:
    assert announcements(release(), [Planned("week-before", DUE)], DUE - timedelta(1)) == []
