"""The schedule as calendar events: one per deployment window, one per freeze in force."""

from __future__ import annotations

from ferry.freezes import FreezePeriod
from release_svc.api.ical import CalendarEvent, EventStatus
from release_svc.domain.lifecycle import Status
from release_svc.domain.schedule import Scheduled

CONFIRMED = frozenset(
    {
        Status.APPROVED,
        Status.AVAILABLE,
        Status.DEPLOYED,
        Status.IN_EARLY_LIFE_SUPPORT,
        Status.READY_FOR_REVIEW,
        Status.CLOSED,
    }
)
"""Approved releases' windows are firm; earlier ones may still move."""


def window_event(shown: Scheduled) -> CalendarEvent:
    entry = shown.entry
    window = entry.window
    lines = [
        f"{entry.identifier} {shown.name} ({entry.status})",
        f"Environment: {window.environment}",
        f"Services: {', '.join(sorted(entry.services)) or 'none named'}",
        f"Release manager and owners: {', '.join(shown.owners)}",
    ]
    if shown.conflicts:
        lines.append("Conflicts:")
        lines += [f"- {conflict.detail}" for conflict in shown.conflicts]
    return CalendarEvent(
        # The same release and environment keep their UID, so a moved window moves.
        uid=f"{entry.release_id}.{window.environment}@release-svc.ferry",
        start=window.start,
        end=window.end,
        summary=f"{entry.identifier} {shown.name} in {window.environment}",
        description="\n".join(lines),
        categories=("DEPLOYMENT", "CONFLICT") if shown.conflicts else ("DEPLOYMENT",),
        status=_status(entry.status),
    )


def _status(status: Status) -> EventStatus:
    if status is Status.CANCELLED:
        return EventStatus.CANCELLED
    return EventStatus.CONFIRMED if status in CONFIRMED else EventStatus.TENTATIVE


def freeze_event(freeze: FreezePeriod) -> CalendarEvent:
    environments = ", ".join(sorted(freeze.environments)) or "all"
    services = ", ".join(sorted(freeze.services)) or "all"
    return CalendarEvent(
        uid=f"freeze-{freeze.freeze_id}@release-svc.ferry",
        start=freeze.start,
        end=freeze.end,
        summary=f"Freeze: {freeze.reason}",
        description=f"{freeze.reason}\nEnvironments: {environments}\nServices: {services}",
        categories=("FREEZE",),
        status=EventStatus.CONFIRMED,
    )
