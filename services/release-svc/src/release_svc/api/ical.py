"""A small RFC 5545 (iCalendar) writer: events only, times in UTC. Pure, no I/O.

Only what the schedule feed needs; the points calendar clients trip over are here: CRLF line
ends, lines folded at 75 octets without splitting a UTF-8 character, and TEXT escaping.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

MEDIA_TYPE = "text/calendar; charset=utf-8"
LINE_OCTETS = 75
CRLF = "\r\n"


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


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, `;`, `,` and newlines escaped."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")
    # Other control characters are not allowed in a value at all, tabs apart.
    return "".join(ch for ch in text if ch == "\t" or unicodedata.category(ch) != "Cc")


def utc(moment: datetime) -> str:
    """A DATE-TIME in UTC form, e.g. 20261201T080000Z (the form every client reads)."""
    if moment.tzinfo is None:
        raise ValueError("a calendar time needs its offset")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def fold(line: str) -> str:
    """Split a content line into lines of at most 75 octets, continuation lines starting
    with a space (RFC 5545 3.1); a multi-octet character is never cut."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for ch in line:
        width = len(ch.encode())
        if size + width > LINE_OCTETS:
            parts.append("".join(current))
            current, size = [" "], 1  # the space that marks a continuation counts
        current.append(ch)
        size += width
    parts.append("".join(current))
    return CRLF.join(parts)


def _event(event: CalendarEvent, stamp: str) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape(event.uid)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART:{utc(event.start)}",
        f"DTEND:{utc(event.end)}",
        f"SUMMARY:{escape(event.summary)}",
    ]
    if event.description:
        lines.append(f"DESCRIPTION:{escape(event.description)}")
    if event.categories:
        lines.append("CATEGORIES:" + ",".join(escape(c) for c in event.categories))
    if event.status is not None:
        lines.append(f"STATUS:{event.status}")
    lines.append("END:VEVENT")
    return lines


def calendar(events: Iterable[CalendarEvent], *, name: str, now: datetime) -> bytes:
    """A whole VCALENDAR, UTF-8; `now` is every event's DTSTAMP (when the feed was made)."""
    stamp = utc(now)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Ferry//release-svc//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for event in events:
        lines += _event(event, stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines).encode()
