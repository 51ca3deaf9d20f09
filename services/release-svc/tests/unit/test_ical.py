"""The iCalendar feed (written by the icalendar library) and the schedule events in it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from ferry.events.release import DeploymentWindow
from ferry.freezes import FreezePeriod
from release_svc.api import ical
from release_svc.api.schedule_feed import freeze_event, window_event
from release_svc.domain.lifecycle import Status
from release_svc.domain.schedule import Conflict, ConflictKind, Entry, Scheduled
from tests.support.calendars import Component, content_lines, parse

NOW = datetime(2026, 11, 1, 9, 30, tzinfo=UTC)
START = datetime(2026, 12, 3, 23, 0, tzinfo=timezone(timedelta(hours=1)))


EVENT = ical.CalendarEvent(
    uid="u-1@ferry", start=START, end=START + timedelta(hours=2), summary="s"
)


def _only_event(event: ical.CalendarEvent) -> Component:
    [vevent] = parse(ical.calendar([event], name="Ferry", now=NOW)).components
    return vevent


def test_text_escapes_backslash_semicolon_comma_and_newlines() -> None:
    vevent = _only_event(
        replace(EVENT, summary="a\\b;c,d\ne\r\nf", description="tab\tkept, bell\x07 dropped")
    )
    assert vevent.properties["SUMMARY"] == "a\\\\b\\;c\\,d\\ne\\nf"
    assert vevent.properties["DESCRIPTION"] == "tab\tkept\\, bell dropped"


def test_times_are_written_in_utc() -> None:
    vevent = _only_event(EVENT)
    assert vevent.properties["DTSTART"] == "20261203T220000Z"
    with pytest.raises(ValueError, match="offset"):
        ical.calendar([replace(EVENT, start=datetime(2026, 12, 3))], name="Ferry", now=NOW)


def test_long_lines_fold_at_75_octets_without_cutting_a_character() -> None:
    text = "Zürich\u2192Genève ✈ " * 20
    body = ical.calendar([replace(EVENT, description=text)], name="Ferry", now=NOW)
    physical = body.split(b"\r\n")[:-1]
    assert all(len(p) <= 75 for p in physical)
    folded = [p for p in physical if p.startswith(b" ")]
    assert len(folded) > 1
    assert all(p.decode() for p in physical)  # no UTF-8 character cut in two
    assert "".join(content_lines(body)).count(text) == 1
    assert b"SUMMARY:s\r\n" in body


def test_a_calendar_is_crlf_lines_with_the_required_properties() -> None:
    event = ical.CalendarEvent(
        uid="u-1@ferry",
        start=START,
        end=START + timedelta(hours=2),
        summary="REL-2026-0001 Payments; Ledger, Fees in production",
        description="line one\nline two " + "x" * 200,
        categories=("DEPLOYMENT", "A,B"),
        status=ical.EventStatus.TENTATIVE,
    )
    body = ical.calendar([event], name="Ferry", now=NOW)
    assert b"\n" not in body.replace(b"\r\n", b"")
    calendar = parse(body)
    assert calendar.name == "VCALENDAR"
    assert calendar.properties["VERSION"] == "2.0"
    assert calendar.properties["PRODID"].startswith("-//Ferry//")
    [vevent] = calendar.components
    assert vevent.name == "VEVENT"
    assert vevent.properties["DTSTAMP"] == "20261101T093000Z"
    assert (vevent.properties["DTSTART"], vevent.properties["DTEND"]) == (
        "20261203T220000Z",
        "20261204T000000Z",
    )
    assert vevent.text("SUMMARY") == event.summary
    assert vevent.text("DESCRIPTION") == event.description
    assert vevent.properties["CATEGORIES"] == "DEPLOYMENT,A\\,B"
    assert vevent.properties["STATUS"] == "TENTATIVE"


def test_an_empty_calendar_is_still_a_calendar() -> None:
    lines = content_lines(ical.calendar([], name="Ferry", now=NOW))
    assert (lines[0], lines[-1]) == ("BEGIN:VCALENDAR", "END:VCALENDAR")


def scheduled(
    status: Status,
    conflicts: tuple[Conflict, ...] = (),
    *,
    release_id: UUID | None = None,
    environment: str = "production",
    start: datetime = START,
) -> Scheduled:
    window = DeploymentWindow(environment=environment, start=start, end=start + timedelta(hours=2))
    entry = Entry(release_id or uuid4(), "REL-2026-0007", window, status, frozenset({"payments"}))
    return Scheduled(entry, "Payments, winter", ("olga", "rita"), conflicts)


def test_a_window_becomes_an_event_whose_uid_stays_with_release_and_environment() -> None:
    shown = scheduled(Status.PLANNED)
    event = window_event(shown)
    release_id = shown.entry.release_id
    moved = scheduled(Status.APPROVED, release_id=release_id, start=START + timedelta(days=2))
    assert window_event(moved).uid == event.uid
    assert (
        window_event(scheduled(Status.PLANNED, release_id=release_id, environment="staging")).uid
        != event.uid
    )
    assert window_event(scheduled(Status.PLANNED)).uid != event.uid
    assert event.summary == "REL-2026-0007 Payments, winter in production"
    assert (event.status, event.categories) == (ical.EventStatus.TENTATIVE, ("DEPLOYMENT",))
    assert window_event(moved).status is ical.EventStatus.CONFIRMED
    assert window_event(scheduled(Status.CANCELLED)).status is ical.EventStatus.CANCELLED


def test_a_windows_conflicts_are_in_its_description_and_categories() -> None:
    clash = Conflict(ConflictKind.OVERLAP, ("REL-2026-0007", "REL-2026-0008"), "both change it")
    event = window_event(scheduled(Status.PLANNED, (clash,)))
    assert "CONFLICT" in event.categories
    assert "- both change it" in event.description


def test_a_freeze_becomes_a_freeze_event() -> None:
    peak = FreezePeriod(
        uuid4(), START, START + timedelta(days=3), "peak", frozenset({"production"})
    )
    event = freeze_event(peak)
    assert (event.uid, event.categories) == (
        f"freeze-{peak.freeze_id}@release-svc.ferry",
        ("FREEZE",),
    )
    assert "Environments: production" in event.description
    assert "Services: all" in event.description
