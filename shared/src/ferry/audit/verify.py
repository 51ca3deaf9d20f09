"""`ferry audit verify`: every service's event store and topic, link by link.

Per stream, versions run from 1 without a gap, each event's `hash` is the one its content
gives and its `prevhash` is the previous event's `hash`. Events from before the chain
existed (no `hash`) are counted as unchained; the chain starts after them. The topics are
checked the same way, each event id once (an event published twice is a `duplicate`: the
topic is the audit log, and the relay sends each event once), then against the store: an
event must have the same hash in both, and a stream may not reach further on Kafka than in
the store. Kafka is read before the store, so events
appended meanwhile are in the store only, as the outbox's not yet relayed ones are.

Given the trusted keys (`Trust`), each signed event's signature must verify with a key of
the service that wrote it (its `source`), in the store and on Kafka; stored events are
counted per service as signed, unsigned (from before services signed) or invalid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from uuid import UUID

import asyncpg
import orjson

from ferry.audit import SERVICES
from ferry.audit.chain import digest
from ferry.audit.signatures import Trust
from ferry.audit.topics import Topic, read_topics
from ferry.db import driver_dsn
from ferry.envelope import Envelope
from ferry.eventstore import envelope_from_row
from ferry.kafka_client import KafkaSettings

"""Each service's default schema; its topic is `<service>.events`."""

Kind = Literal[
    "edited",
    "missing",
    "reordered",
    "truncated",
    "mismatch",
    "duplicate",
    "unreadable",
    "signature",
]


@dataclass(frozen=True)
class Source:
    """One service's event store (its schema) and the topic it publishes to."""

    service: str
    schema: str
    topic: str


def sources(topic_prefix: str = "", schemas: Mapping[str, str] | None = None) -> list[Source]:
    """Every service's source; `schemas` overrides a service's schema name."""
    schemas = schemas or {}
    return [
        Source(name, schemas.get(name, name), f"{topic_prefix}{name}.events") for name in SERVICES
    ]


@dataclass(frozen=True)
class Problem:
    """The first broken link of one stream, or a record that cannot be read."""

    where: Literal["store", "kafka"]
    source: str
    """The schema or topic."""
    stream: str
    version: int
    """The event's version in its stream (for an unreadable record: its offset)."""
    kind: Kind
    detail: str


@dataclass
class Checked:
    """What was verified in one schema or topic."""

    where: Literal["store", "kafka"]
    source: str
    exists: bool = True
    events: int = 0
    streams: int = 0
    unchained: int = 0
    """Events from before the chain existed, which carry no hash."""


@dataclass
class Signatures:
    """One service's stored events by signature: valid, absent (older events) or invalid."""

    service: str
    signed: int = 0
    unsigned: int = 0
    invalid: int = 0


@dataclass
class Report:
    """The outcome of `verify`: what was checked and every problem found."""

    checked: list[Checked] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    signatures: list[Signatures] = field(default_factory=list)
    """Per service, when trusted keys were given; empty when signatures were not checked."""

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": [asdict(c) for c in self.checked],
            "problems": [asdict(p) for p in self.problems],
            "signatures": [asdict(s) for s in self.signatures],
        }


async def verify(
    database_url: str,
    kafka: KafkaSettings,
    of: Sequence[Source],
    trust: Trust | None = None,
) -> Report:
    """Verify the stores and topics of `of`; with `trust`, each event's signature too."""
    report = Report()
    topics = await read_topics(kafka, [s.topic for s in of])
    published = {s.topic: check_topic(topics[s.topic], report, trust) for s in of}
    conn = await asyncpg.connect(driver_dsn(database_url))
    try:
        # Read as the services read it (ferry.db): the hash is over what they would see.
        await conn.set_type_codec(
            "jsonb",
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )
        for source in of:
            counts = Signatures(source.service) if trust is not None else None
            await _check_store(conn, source, published[source.topic], report, trust, counts)
            if counts is not None:
                report.signatures.append(counts)
    finally:
        await conn.close()
    _without_their_topic(of, report)
    return report


def _without_their_topic(of: Sequence[Source], report: Report) -> None:
    """A store holding events whose topic is absent (a wrong prefix, a deleted topic) is a
    problem: nothing shows whether it lost its latest events."""
    checked = {(c.where, c.source): c for c in report.checked}
    for source in of:
        stored = checked[("store", source.schema)].events
        if stored and not checked[("kafka", source.topic)].exists:
            detail = (
                f"the topic does not exist, though {source.schema} holds {stored} events: "
                "their copies cannot be compared, nor a lost end of a stream found"
            )
            report.problems.append(Problem("kafka", source.topic, "", 0, "missing", detail))


def check_stream(
    where: Literal["store", "kafka"],
    source: str,
    stream: str,
    events: Sequence[Envelope],
    start: int = 1,
) -> tuple[int, Problem | None]:
    """The number of unchained events at the start of `stream` (`events` in version
    order, the first at version `start`), and its first broken link if it has one."""
    unchained = 0
    previous: Envelope | None = None
    for position, event in enumerate(events, start=start):

        def broken(kind: Kind, detail: str, version: int = event.streamversion) -> Problem:
            return Problem(where, source, stream, version, kind, detail)

        if event.streamversion > position:
            gap = (
                f"{position}"
                if event.streamversion == position + 1
                else f"{position} to {event.streamversion - 1}"
            )
            return unchained, broken("missing", f"version {gap} missing (deleted?)", position)
        if event.streamversion < position:
            return unchained, broken("duplicate", f"a second event ({event.id}) at this version")
        if event.hash is None:
            if previous is None or previous.hash is None:
                unchained += 1
                previous = event
                continue
            return unchained, broken("edited", "carries no hash, unlike the events before it")
        if event.streamid != stream:
            return unchained, broken("edited", f"was written to stream {event.streamid}")
        if digest(event) != event.hash:
            written = _written_as(event, len(events))
            if written is not None:
                return unchained, broken("reordered", f"was written as version {written}")
            return unchained, broken("edited", "its content does not match its hash")
        if event.prevhash != (previous.hash if previous else None):
            # This event is intact, but it was chained after another one than precedes it.
            if previous is not None and previous.hash is not None:
                detail = f"rewritten: version {event.streamversion} was not chained after it"
                return unchained, broken("edited", detail, previous.streamversion)
            return unchained, broken("edited", "was chained after an event that is not here")
        previous = event
    return unchained, None


def _written_as(event: Envelope, length: int) -> int | None:
    """The other version `event` was written at, if its hash says it was (it was moved)."""
    for version in range(1, max(length, event.streamversion) + 2):
        moved = event.model_copy(update={"streamversion": version})
        if version != event.streamversion and digest(moved) == event.hash:
            return version
    return None


@dataclass
class _Published:
    """A topic's events, deduplicated: by id, and by stream then version."""

    by_id: dict[UUID, Envelope] = field(default_factory=dict)
    streams: dict[str, dict[int, Envelope]] = field(default_factory=lambda: defaultdict(dict))


def _check_signature(
    where: Literal["store", "kafka"],
    source: str,
    event: Envelope,
    trust: Trust | None,
    report: Report,
    counts: Signatures | None = None,
) -> None:
    """Report `event`'s signature if it is invalid; count it in `counts`."""
    if trust is None:
        return
    verdict, why = trust.check(event)
    if counts is not None:
        setattr(counts, verdict, getattr(counts, verdict) + 1)
    if verdict == "invalid":
        stream = event.streamid or event.subject
        report.problems.append(
            Problem(where, source, stream, event.streamversion, "signature", why)
        )


def check_topic(topic: Topic, report: Report, trust: Trust | None = None) -> _Published:
    """Check each stream on `topic`, adding to `report`; its events, for the store's check."""
    checked = Checked("kafka", topic.name, exists=topic.exists)
    report.checked.append(checked)
    published = _Published()
    for partition, offset, why in topic.unreadable:
        report.problems.append(
            Problem("kafka", topic.name, f"partition {partition}", offset, "unreadable", why)
        )
    lists: dict[str, list[Envelope]] = defaultdict(list)
    for record in topic.records:
        event = record.envelope
        first = published.by_id.get(event.id)
        if first is not None:
            where = f"partition {record.partition} offset {record.offset}"
            kind: Kind = "duplicate" if first == event else "mismatch"
            again = "again" if first == event else "again with other content"
            stream = event.streamid or event.subject
            report.problems.append(
                Problem(
                    "kafka",
                    topic.name,
                    stream,
                    event.streamversion,
                    kind,
                    f"event {event.id} published {again} ({where})",
                )
            )
            continue  # checked once, as first published
        published.by_id[event.id] = event
        checked.events += 1
        _check_signature("kafka", topic.name, event, trust, report)
        if event.streamid is None:
            checked.unchained += 1  # from before the chain: its stream is unknown
            continue
        lists[event.streamid].append(event)
    for stream, events in lists.items():
        events.sort(key=lambda e: e.streamversion)
        published.streams[stream] = {e.streamversion: e for e in events}
        # A chain that starts above version 1 follows events from before the chain, which
        # were published without their stream id: they are counted above.
        first = events[0]
        start = first.streamversion if first.hash and first.prevhash is None else 1
        unchained, problem = check_stream("kafka", topic.name, stream, events, start)
        checked.streams += 1
        checked.unchained += unchained
        if problem is not None:
            report.problems.append(problem)
    return published


async def _check_store(
    conn: asyncpg.Connection,
    source: Source,
    published: _Published,
    report: Report,
    trust: Trust | None,
    counts: Signatures | None,
) -> None:
    checked = Checked("store", source.schema)
    report.checked.append(checked)
    table = f'"{source.schema}".events'
    checked.exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
    seen: set[str] = set()
    if checked.exists:
        sql = (
            "SELECT stream_id, event_id, stream_version, type, data, metadata "
            f"FROM {table} ORDER BY stream_id, stream_version"
        )
        stream: str | None = None
        rows: list[asyncpg.Record] = []
        # One snapshot, read a batch at a time: a big store is never held whole in memory.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async for row in conn.cursor(sql, prefetch=1000):
                if row["stream_id"] != stream and rows:
                    _check_stored_stream(source, rows, published, checked, report, trust, counts)
                    rows = []
                stream = row["stream_id"]
                rows.append(row)
                seen.add(row["stream_id"])
            if rows:
                _check_stored_stream(source, rows, published, checked, report, trust, counts)
    for stream_id, on_kafka in published.streams.items():
        if stream_id not in seen:
            head = max(on_kafka)
            detail = f"the whole stream (versions 1 to {head}) is on {source.topic}, not here"
            report.problems.append(
                Problem("store", source.schema, stream_id, 1, "truncated", detail)
            )


def _check_stored_stream(
    source: Source,
    rows: list[asyncpg.Record],
    published: _Published,
    checked: Checked,
    report: Report,
    trust: Trust | None,
    counts: Signatures | None,
) -> None:
    stream: str = rows[0]["stream_id"]
    checked.streams += 1
    checked.events += len(rows)
    events: list[Envelope] = []
    for row in rows:
        try:
            events.append(envelope_from_row(row))
        except (ValueError, KeyError, TypeError) as exc:
            detail = f"unreadable: {str(exc).splitlines()[0]}"
            report.problems.append(
                Problem("store", source.schema, stream, row["stream_version"], "edited", detail)
            )
            return
    for event in events:
        _check_signature("store", source.schema, event, trust, report, counts)
    unchained, problem = check_stream("store", source.schema, stream, events)
    checked.unchained += unchained
    if problem is not None:
        report.problems.append(problem)
    mismatch = _against_kafka(source, stream, events, published)
    if mismatch is not None:
        report.problems.append(mismatch)


def _against_kafka(
    source: Source, stream: str, events: list[Envelope], published: _Published
) -> Problem | None:
    """The first difference between a stored stream and its copy on Kafka."""
    for event in events:
        copy = published.by_id.get(event.id)
        if copy is not None and (copy.hash != event.hash or digest(copy) != digest(event)):
            detail = f"differs from event {event.id} as published on {source.topic}"
            return Problem("store", source.schema, stream, event.streamversion, "mismatch", detail)
    on_kafka = published.streams.get(stream, {})
    head = events[-1].streamversion if events else 0
    beyond = sorted(v for v in on_kafka if v > head)
    if beyond:
        detail = f"versions {beyond[0]} to {beyond[-1]} are on {source.topic}, not here"
        return Problem("store", source.schema, stream, beyond[0], "truncated", detail)
    return None
