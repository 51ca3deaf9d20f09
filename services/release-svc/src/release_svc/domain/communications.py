"""When a release's communications fall due, and which to announce: the rules, without I/O.

An entry of the communication plan is announced (`CommunicationDue`) once its due time has
come. A due time that moves after the announcement is announced again at the new time only
if that is later than the announcement: the audience was then told too early for the plan
as it now is. A new time at or before the announcement is covered by it: the audience was
told no earlier than the plan now asks, so telling them again would only repeat it.
Cancelled and closed releases announce nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ferry.events.release import CommunicationDue
from release_svc.domain.lifecycle import Status
from release_svc.domain.release import Release

FINISHED = frozenset({Status.CANCELLED, Status.CLOSED})
"""A release in these states announces nothing more."""


@dataclass(frozen=True)
class Planned:
    """One entry of a release's communication plan, as its schedule keeps it."""

    entry_id: str
    due_at: datetime | None
    """When it falls due by the plan as it now is; None while the plan has no date for it."""
    announced_at: datetime | None = None
    """When it was last announced."""


def schedule(release: Release) -> dict[str, datetime | None]:
    """Each entry of the release's plan and when it falls due; none once it is finished."""
    if release.status in FINISHED:
        return {}
    return {entry.entry_id: release.due_at(entry) for entry in release.communication_plan}


def is_due(planned: Planned, now: datetime) -> bool:
    """Its due time has come, and it has not been announced since that time was set."""
    if planned.due_at is None or planned.due_at > now:
        return False
    return planned.announced_at is None or planned.due_at > planned.announced_at


def announcements(
    release: Release, claimed: Iterable[Planned], now: datetime
) -> list[CommunicationDue]:
    """`CommunicationDue` for each claimed entry that is due by the release as it now is.

    An entry whose due time the release no longer agrees with is skipped: the schedule is
    behind the release, and bringing it up to date sets the time to announce at.
    """
    current = schedule(release)
    new: list[CommunicationDue] = []
    for planned in claimed:
        due_at = current.get(planned.entry_id)
        if due_at is not None and due_at == planned.due_at and is_due(planned, now):
            decided = release.communication_due(planned.entry_id, due_at)
            new.extend(e for e in decided if isinstance(e, CommunicationDue))
    return new
