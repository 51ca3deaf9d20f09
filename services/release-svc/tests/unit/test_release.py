from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from ferry.errors import InvalidTransition
from ferry.events.release import ReleasePlanned, ReleaseRescheduled
from release_svc.domain.commands import CancelRelease, PlanRelease, RescheduleRelease
from release_svc.domain.lifecycle import Status
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.release import Release
from release_svc.domain.release_planning import AlreadyPlanned
from release_svc.domain.release_state import NotTheReleaseManager

RELEASE = uuid4()


def plan(start: date = date(2026, 12, 1), end: date = date(2026, 12, 5)) -> PlanRelease:
    return PlanRelease(
        RELEASE,
        "Payments",
        "2026.12",
        start,
        end,
        release_manager="rita",
        identifier="REL-2026-0001",
    )


def test_planning_a_new_release_decides_release_planned() -> None:
    [event] = Release(RELEASE).plan(plan())
    assert isinstance(event, ReleasePlanned)
    assert (event.name, event.version) == ("Payments", "2026.12")


def test_a_release_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidPlan) as refused:
        Release(RELEASE).plan(plan(start=date(2026, 12, 5), end=date(2026, 12, 1)))
    assert refused.value.field == "planned_end"


def test_a_release_is_planned_once() -> None:
    release = Release.replay(RELEASE, Release(RELEASE).plan(plan()))
    with pytest.raises(AlreadyPlanned):
        release.plan(plan())


def test_replay_rebuilds_state_and_version_from_events() -> None:
    planned = Release(RELEASE).plan(plan())
    moved = ReleaseRescheduled(
        release_id=RELEASE,
        planned_start=date(2026, 12, 8),
        planned_end=date(2026, 12, 9),
        reason="supplier late",
    )
    release = Release.replay(RELEASE, [*planned, moved])
    assert release.version == 2
    assert release.status is Status.PLANNED
    assert (release.planned_start, release.planned_end) == (date(2026, 12, 8), date(2026, 12, 9))


def test_rescheduling_to_the_same_dates_decides_nothing() -> None:
    release = Release.replay(RELEASE, Release(RELEASE).plan(plan()))
    same = RescheduleRelease(RELEASE, date(2026, 12, 1), date(2026, 12, 5), "no change", by="rita")
    assert release.reschedule(same) == []


def test_an_unplanned_release_cannot_be_rescheduled() -> None:
    with pytest.raises(InvalidTransition):
        Release(RELEASE).reschedule(
            RescheduleRelease(RELEASE, date(2026, 12, 1), date(2026, 12, 5), "x", by="rita")
        )


def test_only_the_release_manager_may_change_the_plan() -> None:
    release = Release.replay(RELEASE, Release(RELEASE).plan(plan()))
    move = RescheduleRelease(RELEASE, date(2026, 12, 8), date(2026, 12, 9), "late", by="mallory")
    with pytest.raises(NotTheReleaseManager, match="rita"):
        release.reschedule(move)


def test_a_cancelled_release_cannot_be_rescheduled_or_cancelled_again() -> None:
    release = Release.replay(RELEASE, Release(RELEASE).plan(plan()))
    release = Release.replay(
        RELEASE,
        [*Release(RELEASE).plan(plan()), *release.cancel(CancelRelease(RELEASE, "x", "rita"))],
    )
    assert release.status is Status.CANCELLED
    move = RescheduleRelease(RELEASE, date(2026, 12, 8), date(2026, 12, 9), "late", by="rita")
    with pytest.raises(InvalidTransition, match="cancelled"):
        release.reschedule(move)
    with pytest.raises(InvalidTransition, match="cancelled"):
        release.cancel(CancelRelease(RELEASE, "again", "rita"))


def test_only_the_release_manager_may_cancel() -> None:
    release = Release.replay(RELEASE, Release(RELEASE).plan(plan()))
    with pytest.raises(NotTheReleaseManager):
        release.cancel(CancelRelease(RELEASE, "no budget", "mallory"))
