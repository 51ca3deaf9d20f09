"""`ferry audit trail`: the whole history of one release across the services, from Kafka.

A release's trail is every event on release.events about it (its subject is the release
id), every event of the other services' topics whose data names it (`release_id`: the
library entry, each deployment, Early Life Support), and every other event of a stream one
of those belongs to. In time order, each with who did it and in which conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ferry.audit import SERVICES
from ferry.audit.topics import read_topics
from ferry.envelope import Envelope
from ferry.kafka_client import KafkaSettings

_UNSUMMARISED = {"release_id", "schema_version"}


class UnknownRelease(LookupError):
    """No release with that id or identifier was ever planned (on the topics read)."""


@dataclass(frozen=True)
class Entry:
    """One event of a release's trail."""

    time: datetime
    service: str
    type: str
    actor: str
    roles: str | None
    correlationid: str
    subject: str
    stream: str | None
    version: int
    id: UUID
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"time": self.time.isoformat(), "id": str(self.id)}


@dataclass(frozen=True)
class Trail:
    """A release (its id and, if known, identifier such as REL-2026-0001) and its entries."""

    release_id: UUID
    identifier: str | None
    entries: list[Entry]

    def as_dict(self) -> dict[str, Any]:
        return {
            "release_id": str(self.release_id),
            "identifier": self.identifier,
            "entries": [e.as_dict() for e in self.entries],
        }


async def read_trail(kafka: KafkaSettings, release: str, topic_prefix: str = "") -> Trail:
    """The trail of `release` (its id or identifier) from the services' topics."""
    topics = await read_topics(kafka, [f"{topic_prefix}{s}.events" for s in SERVICES])
    events = {
        service: [r.envelope for r in topics[f"{topic_prefix}{service}.events"].records]
        for service in SERVICES
    }
    return trail_of(events, release)


def trail_of(events: Mapping[str, Iterable[Envelope]], release: str) -> Trail:
    """The trail of `release` in `events` (each service's, as on its topic)."""
    by_service = {service: list(found) for service, found in events.items()}
    release_id, identifier = _resolve(by_service.get("release", []), release)
    rid = str(release_id)

    def names_it(event: Envelope) -> bool:
        return event.subject == rid or event.data.get("release_id") == rid

    linked = {
        event.streamid
        for found in by_service.values()
        for event in found
        if event.streamid is not None and names_it(event)
    }
    seen: set[UUID] = set()
    entries: list[Entry] = []
    for service, found in by_service.items():
        for event in found:
            if event.id in seen or not (names_it(event) or event.streamid in linked):
                continue
            seen.add(event.id)  # the relay may have published it twice
            entries.append(_entry(service, event))
    entries.sort(key=lambda e: (e.time, SERVICES.index(e.service), e.version))
    return Trail(release_id, identifier, entries)


def _resolve(release_events: list[Envelope], release: str) -> tuple[UUID, str | None]:
    """The release id of `release` (an id or an identifier) and its identifier."""
    try:
        wanted: UUID | None = UUID(release)
    except ValueError:
        wanted = None
    for event in release_events:
        if event.type != "ReleasePlanned":
            continue
        identifier = event.data.get("identifier")
        if wanted is not None and event.subject == str(wanted):
            return wanted, identifier
        if wanted is None and str(identifier).lower() == release.lower():
            return UUID(event.subject), identifier
    if wanted is not None:
        return wanted, None  # planned before the topics' beginning: its other events count
    raise UnknownRelease(f"no release {release} on the topics")


def _entry(service: str, event: Envelope) -> Entry:
    return Entry(
        time=event.time,
        service=service,
        type=event.type,
        actor=event.actor,
        roles=event.actorroles,
        correlationid=event.correlationid,
        subject=event.subject,
        stream=event.streamid,
        version=event.streamversion,
        id=event.id,
        summary=summary(event.data),
    )


def summary(data: Mapping[str, Any], width: int = 100) -> str:
    """A line of an event's data: its plain fields, lists of plain values, counts of others;
    not the ids, which the subject and stream already give."""
    parts: list[str] = []
    for key, value in data.items():
        if key in _UNSUMMARISED or key.endswith("_id") or value in (None, "", [], {}):
            continue
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            parts.append(f"{key}={','.join(str(v) for v in value)}")
        elif isinstance(value, dict | list):
            parts.append(f"{key}=[{len(value)}]")
        else:
            parts.append(f"{key}={value}")
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1] + "…"
