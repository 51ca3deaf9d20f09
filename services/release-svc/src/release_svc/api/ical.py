"""The schedule's calendar events as an RFC 5545 (iCalendar) feed, written by the
`icalendar` library: events only, times in UTC.

The library does what calendar clients trip over: CRLF line ends, lines folded at 75 octets
without splitting a UTF-8 character, and TEXT escaping.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import icalendar

MEDIA_TYPE = "text/calendar; charset=utf-8"


class EventStatus(StrEnum):
    CONFIRMED = "CONFIRMED"
    TENTATIVE = "TENTATIVE"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT; `uid` must stay the same for the same thing across feeds."""

    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str = ""
    categories: Sequence[str] = ()
    status: EventStatus | None = None


def _text(text: str) -> str:
    """A TEXT value with its line breaks as newlines (which the library escapes) and without
    the other control characters RFC 5545 forbids, tabs apart: the library writes those
    through as they are."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\t\n" or unicodedata.category(ch) != "Cc")


def _utc(moment: datetime) -> datetime:
    """In UTC, which the library writes as e.g. 20261201T080000Z, the form every client
    reads (a TZID would need a VTIMEZONE)."""
    if moment.tzinfo is None:
        raise ValueError("a calendar time needs its offset")
    return moment.astimezone(UTC)


def _event(event: CalendarEvent, now: datetime) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", _text(event.uid))
    vevent.add("dtstamp", now)
    vevent.add("dtstart", _utc(event.start))
    vevent.add("dtend", _utc(event.end))
    vevent.add("summary", _text(event.summary))
    if event.description:
        vevent.add("description", _text(event.description))
    if event.categories:
        vevent.add("categories", [_text(c) for c in event.categories])
    if event.status is not None:
        vevent.add("status", str(event.status))
    return vevent


def calendar(events: Iterable[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """A whole VCALENDAR, UTF-8; `now` is every event's DTSTAMP (when the feed was made)."""
    stamp = _utc(now)
    feed = icalendar.Calendar()
    feed.add("version", "2.0")
    feed.add("prodid", "-//Ferry//release-svc//EN")
    feed.add("calscale", "GREGORIAN")
    feed.add("method", "PUBLISH")
    # An X- property's value type is unknown to the library, which then writes it
    # unescaped: say it is TEXT.
    feed.add("x-wr-calname", icalendar.vText(_text(name)))
    for event in events:
        feed.add_component(_event(event, stamp))
    body: bytes = feed.to_ical()  # typed Any by the library
    return body
