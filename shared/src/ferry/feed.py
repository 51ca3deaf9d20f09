"""The event feed's plain parts: resume cursors, filters and Server-Sent Events framing.

A cursor names, for every partition of Ferry's topics read so far, the offset to read next;
a client that sends it back (`Last-Event-ID`) resumes exactly after the message it came with.
It is base64url (unpadded) of compact JSON `{"<topic>": [<next offset of partition 0>, ...]}`,
topics without the deployment's prefix; clients treat it as opaque.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from ferry.errors import BadRequest, FerryError, Forbidden
from ferry.kafka import SERVICE_TOPICS


def sse_position(cursor: str) -> bytes:
    """A message of only an `id` and a comment: no event for the client, but its place (the
    `Last-Event-ID` it resumes with), and a sign to proxies that the connection is in use.
    Sent first, so a client that sees no event before the stream ends does not resume at
    "now" and miss what came meanwhile, and as the keep-alive."""
    return f": keep-alive\nid: {cursor}\n\n".encode()


_LINE_BREAK = re.compile(r"\r\n|\r|\n")
"""What ends a line in an event stream (not the other breaks `str.splitlines` knows)."""

Positions = dict[str, list[int]]
"""Per topic (unprefixed), the next offset to read of each partition, by partition number."""


class UnreadableCursor(BadRequest):
    """A `Last-Event-ID` (or `last_event_id`) that is no cursor this feed gave out."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field}: not a cursor this feed gave out; reconnect without it")
        self.field = field

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"field": self.field, "message": str(self)}]}


def encode_cursor(positions: Mapping[str, list[int]]) -> str:
    """The cursor of `positions`: URL-safe, one line, no padding."""
    raw = orjson.dumps({topic: positions[topic] for topic in sorted(positions)})
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str, field: str = "Last-Event-ID") -> Positions:
    """The positions a cursor names; `UnreadableCursor` naming `field` if it is none."""
    try:
        raw = base64.urlsafe_b64decode(cursor.strip() + "=" * (-len(cursor.strip()) % 4))
        positions = orjson.loads(raw)
    except (ValueError, binascii.Error) as exc:
        raise UnreadableCursor(field) from exc
    if not isinstance(positions, dict) or not positions:
        raise UnreadableCursor(field)
    for topic, offsets in positions.items():
        if topic not in SERVICE_TOPICS or not isinstance(offsets, list):
            raise UnreadableCursor(field)
        # Kafka's offsets are signed 64-bit: a larger one would fail only once streaming.
        if not all(type(offset) is int and 0 <= offset < 2**63 for offset in offsets):
            raise UnreadableCursor(field)
    return positions


@dataclass
class TeamScope:
    """What belongs to some teams, as the feed tells their events apart: the releases that
    touch them (those known when the stream began, and those planned for the teams or given
    one of their services in scope as the stream goes on), and the services and
    environments they own. An event is theirs when it names one of these, or the team."""

    teams: frozenset[str]
    services: frozenset[str]
    environments: frozenset[str]
    releases: set[str]
    """Release ids, as text."""

    def touches(self, topic: str, event: Mapping[str, Any]) -> bool:
        data = event.get("data")
        if not isinstance(data, Mapping):
            return False
        if topic == "release.events" and self._learns(event, data):
            return True
        if str(data.get("release_id")) in self.releases:
            return True
        if data.get("environment") in self.environments or data.get("service") in self.services:
            return True
        services = data.get("services")
        return isinstance(services, list) and not self.services.isdisjoint(map(str, services))

    def _learns(self, event: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
        """Whether a release.events event is the teams', learning the release it makes so."""
        release = str(event.get("subject"))
        items = data.get("items") if event.get("type") == "ReleaseScopeSet" else None
        scoped = isinstance(items, list) and any(
            isinstance(item, Mapping)
            and item.get("kind") == "service"
            and item.get("name") in self.services
            for item in items
        )
        if data.get("team") in self.teams or scoped:
            if event.get("type") != "TeamDefined":
                self.releases.add(release)
            return True
        return release in self.releases


@dataclass(frozen=True)
class Filter:
    """Which events a client asked for: of these types (empty: all), of this release (None:
    any), of these teams (None: any). An event is a release's when it is on
    `release.events` with the release as its subject, or names the release in
    `data.release_id`."""

    types: Collection[str] = ()
    release_id: UUID | None = None
    teams: TeamScope | None = None

    def matches(self, topic: str, event: Mapping[str, Any]) -> bool:
        """Whether the CloudEvent `event` read from `topic` (unprefixed) is wanted."""
        # The teams first: they learn their new releases from events of any type.
        if self.teams is not None and not self.teams.touches(topic, event):
            return False
        if self.types and event.get("type") not in self.types:
            return False
        if self.release_id is None:
            return True
        wanted = str(self.release_id)
        if topic == "release.events" and event.get("subject") == wanted:
            return True
        data = event.get("data")
        return isinstance(data, Mapping) and str(data.get("release_id")) == wanted


def sse_message(event_type: str, data: str, cursor: str) -> bytes:
    """One Server-Sent Events message: `id`, `event` and the data, one `data:` line per line."""
    # A line break inside a field would end it early and let the rest pose as other fields.
    event_type = _LINE_BREAK.sub(" ", event_type)
    lines = [f"id: {cursor}", f"event: {event_type}"]
    lines += [f"data: {line}" for line in _LINE_BREAK.split(data)]
    return ("\n".join(lines) + "\n\n").encode()


def covers(ahead: Mapping[str, list[int]], behind: Mapping[str, list[int]]) -> bool:
    """Whether `ahead` is at or past `behind` on every partition `behind` names (a partition
    `ahead` does not name counts as offset 0)."""
    for topic, offsets in behind.items():
        mine = ahead.get(topic, [])
        for partition, offset in enumerate(offsets):
            if (mine[partition] if partition < len(mine) else 0) < offset:
                return False
    return True


def behind(start: Mapping[str, list[int]], ends: Mapping[str, list[int]]) -> int:
    """How many records `start` lies behind `ends` on the partition where it lies furthest
    (a partition `start` does not name counts as offset 0: it is read from its beginning)."""
    most = 0
    for topic, offsets in ends.items():
        mine = start.get(topic, [])
        for partition, end in enumerate(offsets):
            most = max(most, end - (mine[partition] if partition < len(mine) else 0))
    return most


class ResumeTooFarBack(Forbidden):
    """A cursor so far behind that resuming from it is a replay, which needs a replay role."""


def furthest(*all_positions: Mapping[str, list[int]]) -> Positions:
    """Per partition, the largest offset any of `all_positions` names."""
    merged: Positions = {}
    for positions in all_positions:
        for topic, offsets in positions.items():
            mine = merged.setdefault(topic, [])
            mine.extend([0] * (len(offsets) - len(mine)))
            for partition, offset in enumerate(offsets):
                mine[partition] = max(mine[partition], offset)
    return merged


class TooManyStreams(FerryError):
    """A caller, or everyone together, has as many streams open as this replica allows."""

    status = 429
    title = "Too many streams"
    retry_after = 30
    """Seconds, for `Retry-After`: about when a stream may have ended."""


class StreamLimits:
    """How many streams may be open at once on this replica: in all, and per subject."""

    def __init__(self, total: int, per_subject: int) -> None:
        self.total = total
        self.per_subject = per_subject
        self._open: dict[str, int] = {}

    def admit(self, subject: str) -> None:
        """Count one more stream of `subject`, or raise `TooManyStreams` saying which cap."""
        if sum(self._open.values()) >= self.total:
            raise TooManyStreams(
                f"this replica serves {self.total} streams already; retry later (or elsewhere)"
            )
        if self._open.get(subject, 0) >= self.per_subject:
            raise TooManyStreams(
                f"you have {self.per_subject} streams open already, as many as one may; "
                "close one (a dashboard in another tab?) or retry later"
            )
        self._open[subject] = self._open.get(subject, 0) + 1

    def release(self, subject: str) -> None:
        """A stream of `subject` ended."""
        left = self._open.get(subject, 0) - 1
        if left > 0:
            self._open[subject] = left
        else:
            self._open.pop(subject, None)
