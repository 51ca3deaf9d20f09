"""Communications timed from what actually happens: due only once it has, from its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ferry.events.release import Milestone
from release_svc.domain.commands import PlannedCommunication, SetCommunicationPlan
from tests.support.releases import applied, planned

LIVE = datetime(2026, 12, 10, 22, 30, tzinfo=UTC)


def test_an_entry_timed_from_the_deployment_is_due_once_it_completed() -> None:
    release = planned()
    entry = PlannedCommunication(
        "service desk", "email", "It is live", Milestone.DEPLOYMENT_COMPLETED, timedelta(hours=1)
    )
    release = applied(
        release, release.set_communication_plan(SetCommunicationPlan(release.id, [entry], "rita"))
    )
    [planned_entry] = release.communication_plan
    assert release.due_at(planned_entry) is None

    release = applied(
        release, release.milestone_reached(Milestone.DEPLOYMENT_COMPLETED, "production", LIVE)
    )
    assert release.due_at(planned_entry) == LIVE + timedelta(hours=1)
    # Only the first time counts: a later deployment moves nothing.
    later = LIVE + timedelta(days=1)
    assert release.milestone_reached(Milestone.DEPLOYMENT_COMPLETED, "production", later) == []
