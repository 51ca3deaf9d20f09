"""The tamper-evident audit log: release-svc writes hash-chained events; tampering with its
store afterwards, by SQL, is found by `ferry audit verify`, with the stream and version of
the first broken link; `ferry audit trail` reads a release's history off the topics.
Against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from typer.testing import CliRunner

from ferry.audit.chain import digest, intact
from ferry.audit.signatures import Trust
from ferry.audit.trail import read_trail
from ferry.audit.verify import Report, Signatures, Source, verify
from ferry.cli.audit import app as audit_app
from ferry.db import Database, driver_dsn
from ferry.envelope import Envelope, Meta
from ferry.errors import ConcurrencyError
from ferry.events import Event
from ferry.events.deploy import DeploymentCompleted, DeploymentStarted
from ferry.events.els import ElsStarted
from ferry.eventsigning import EventSigner, generate_pem
from ferry.kafka import Message, Publisher
from ferry.kafka_acls import AUDITOR
from release_svc.config import Settings
from release_svc.main import spec
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic, serving, settings

META = Meta(actor="alice", correlation_id="corr-audit", roles=("release-manager",))
PLAN = {
    "name": "Payments",
    "version": "2026.12.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-05",
}


@dataclass
class Service:
    """release-svc, serving, with the schema and topic it writes to."""

    api: httpx.AsyncClient
    schema: str
    topic: str
    infra: Infra

    @property
    def source(self) -> Source:
        return Source("release", self.schema, self.topic)

    async def verify(self) -> Report:
        """Verified as an auditor does: trusting each service's key."""
        trust = Trust(self.infra.keys.trusted())
        return await verify(self.infra.database_url, self.infra.kafka, [self.source], trust)

    async def sql(self, statement: str, *args: Any) -> str:
        conn = await asyncpg.connect(driver_dsn(self.infra.database_url))
        try:
            return str(await conn.execute(statement.format(events=self.events), *args))
        finally:
            await conn.close()

    @property
    def events(self) -> str:
        return f'"{self.schema}".events'

    async def load(self, stream: str) -> list[Envelope]:
        """The stream as the event store reads it."""
        db = Database(self.infra.database_url, self.schema, "test")
        try:
            async with db.unit_of_work() as uow:
                return await uow.events.load(stream)
        finally:
            await db.dispose()


@pytest.fixture
async def release_svc(infra: Infra, topic_prefix: str) -> AsyncIterator[Service]:
    s = settings(Settings, infra, topic_prefix)
    rita = infra.issuer.bearer("rita", "release-manager", "tester")
    async with serving(spec(s), headers=rita) as api:
        yield Service(api, s.db_schema, s.topic("release.events"), infra)


async def planned(svc: Service, moves: int = 4, correlation: str = "plan-1") -> dict[str, Any]:
    """A release planned, then moved `moves` times: a stream of 1 + `moves` events."""
    created = await svc.api.post("/releases", json=PLAN, headers={"X-Correlation-ID": correlation})
    assert created.status_code == 201, created.text
    for n in range(1, moves + 1):
        move = {
            "planned_start": f"2026-12-{n + 1:02}",
            "planned_end": "2026-12-20",
            "reason": "late",
        }
        moved = await svc.api.put(
            f"{created.headers['Location']}/schedule",
            json=move,
            headers={"If-Match": f'"{n}"', "X-Correlation-ID": f"move-{n}"},
        )
        assert moved.status_code == 200, moved.text
    release: dict[str, Any] = created.json()
    return release


async def written(svc: Service, releases: int = 2) -> list[str]:
    """`releases` releases of five events each, all of them relayed to Kafka: their streams."""
    ids = [str((await planned(svc))["id"]) for _ in range(releases)]
    stored = await stored_count(svc)
    await read_topic(svc.infra.kafka, svc.topic, expect=stored, settle=0.5)
    return [f"release-{release_id}" for release_id in ids]


async def stored_count(svc: Service) -> int:
    conn = await asyncpg.connect(driver_dsn(svc.infra.database_url))
    try:
        return int(await conn.fetchval(f"SELECT count(*) FROM {svc.events}"))
    finally:
        await conn.close()


def found(report: Report, where: str = "store") -> list[tuple[str, int, str]]:
    return [(p.stream, p.version, p.kind) for p in report.problems if p.where == where]


# --- the chain as written ---------------------------------------------------------------


async def test_every_stored_and_published_event_is_chained(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    stored = await release_svc.load(stream)
    assert [e.streamversion for e in stored] == [1, 2, 3, 4, 5]
    assert [e.prevhash for e in stored] == [None] + [e.hash for e in stored[:-1]]
    assert all(intact(e) and e.streamid == stream for e in stored)

    published = await read_topic(release_svc.infra.kafka, release_svc.topic, expect=10, settle=0)
    on_kafka = {e.id: e for e in published}
    assert all(on_kafka[e.id].hash == e.hash and intact(on_kafka[e.id]) for e in stored)


async def test_a_clean_log_reports_what_it_verified(release_svc: Service) -> None:
    await written(release_svc)
    total = await stored_count(release_svc)

    report = await release_svc.verify()

    assert report.ok, report.problems
    store, kafka = (next(c for c in report.checked if c.where == w) for w in ("store", "kafka"))
    assert (store.events, store.unchained) == (total, 0)
    assert store.streams >= 2  # the two releases, and whatever else release-svc keeps
    assert (kafka.events, kafka.streams) == (store.events, store.streams)


async def test_a_store_whose_topic_is_absent_cannot_pass(release_svc: Service) -> None:
    await written(release_svc, releases=1)
    elsewhere = replace(release_svc.source, topic=f"absent-{uuid.uuid4().hex}.events")
    report = await verify(release_svc.infra.database_url, release_svc.infra.kafka, [elsewhere])
    assert not report.ok
    [problem] = report.problems
    assert (problem.where, problem.source, problem.kind) == ("kafka", elsewhere.topic, "missing")


class Awkward(Event):
    """An event whose data is everything JSONB and JSON may give back differently."""

    type: Literal["Awkward"] = "Awkward"
    schema_version: Literal[1] = 1
    stream_prefix: ClassVar[str] = "awkward"
    key: str
    payload: dict[str, Any]

    def aggregate_id(self) -> str:
        return self.key


AWKWARD = {
    "ratio": 0.1,
    "whole": 2.0,
    "big": 1e16,
    "bigger": 1e19,
    "huge": 1e300,
    "tiny": 1.5e-7,
    "negative zero": -0.0,
    "small negative": -0.05,
    "just below": 9007199254740993.0,
    "text": 'Zahlungsverkehr \u2013 \u00dcn\u00efc\u00f8d\u00e9 \u652f\u4ed8 \U0001f680 "q" \\ \n',
    "nested": {"z": [1, 2.5, {"b": None, "a": True}], "\u00e9": {}},
}


async def append(db: Database, stream: str, version: int) -> Envelope:
    """One event appended at `version` in a unit of work of its own."""
    async with db.unit_of_work() as uow:
        [sealed] = await uow.events.append(stream, version, [Awkward(key="a", payload={})], META)
        await uow.commit()
    return sealed


async def test_the_hash_is_the_same_read_back_from_the_store_and_as_published(db: Database) -> None:
    stream = f"awkward-{uuid4()}"
    async with db.unit_of_work() as uow:
        first = await uow.events.append(stream, 0, [Awkward(key="a", payload=AWKWARD)], META)
        second = await uow.events.append(stream, 1, [Awkward(key="a", payload={})], META)
        await uow.commit()

    async with db.unit_of_work() as uow:
        stored = await uow.events.load(stream)
    as_published = [Envelope.from_json(e.to_json()) for e in stored]

    for copies in (stored, as_published):
        assert [e.hash for e in copies] == [e.hash for e in first + second]
        assert all(intact(e) for e in copies)
    assert stored[0].data["payload"]["big"] == 10**16  # JSONB's way with it: still the same hash


async def test_an_append_chains_after_a_head_it_did_not_read(db: Database) -> None:
    stream = f"awkward-{uuid4()}"
    first = await append(db, stream, 0)
    # Another process (a database object of its own: nothing known of the stream) appends.
    other = Database(db.url, db.schema, "test-svc")
    try:
        second = await append(other, stream, 1)
        with pytest.raises(ConcurrencyError):
            await append(other, stream, 5)
    finally:
        await other.dispose()
    assert second.prevhash == first.hash
    # This one still knows version 1 as the head: the append is refused, as ever.
    with pytest.raises(ConcurrencyError):
        await append(db, stream, 1)


async def test_a_wrong_prevhash_is_never_written(db: Database) -> None:
    stream = f"awkward-{uuid4()}"
    first = await append(db, stream, 0)
    db.heads.saw(stream, 1, "0" * 64)  # as if this process had seen another head

    with pytest.raises(ConcurrencyError):
        await append(db, stream, 1)
    # The wrong belief is gone: the next append reads the head's hash.
    second = await append(db, stream, 1)
    assert second.prevhash == first.hash
    async with db.unit_of_work() as uow:
        assert [e.hash for e in await uow.events.load(stream)] == [first.hash, second.hash]


# --- tampering with the store -----------------------------------------------------------


async def test_an_edited_event_is_found(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    await release_svc.sql(
        """UPDATE {events} SET data = jsonb_set(data, '{{name}}', '"Forged"')
        WHERE stream_id = $1 AND stream_version = 3""",
        stream,
    )

    report = await release_svc.verify()

    assert not report.ok
    assert found(report) == [(stream, 3, "edited"), (stream, 3, "mismatch")]
    assert found(report, "kafka") == []


async def test_a_deleted_event_is_found(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    await release_svc.sql(
        "DELETE FROM {events} WHERE stream_id = $1 AND stream_version = 2", stream
    )

    report = await release_svc.verify()

    assert found(report) == [(stream, 2, "missing")]


async def test_reordered_events_are_found(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    for old, new in ((3, 1000), (4, 3), (1000, 4)):
        await release_svc.sql(
            "UPDATE {events} SET stream_version = $3 WHERE stream_id = $1 AND stream_version = $2",
            stream,
            old,
            new,
        )

    report = await release_svc.verify()

    # The chain says it was moved; its copy on Kafka, at version 4, says so too.
    assert found(report) == [(stream, 3, "reordered"), (stream, 3, "mismatch")]
    assert "written as version 4" in report.problems[0].detail


async def test_a_truncated_stream_is_found_against_kafka(release_svc: Service) -> None:
    [stream, other] = await written(release_svc)
    await release_svc.sql(
        "DELETE FROM {events} WHERE stream_id = $1 AND stream_version >= 4", stream
    )
    await release_svc.sql("DELETE FROM {events} WHERE stream_id = $1", other)

    report = await release_svc.verify()

    assert sorted(found(report)) == sorted([(stream, 4, "truncated"), (other, 1, "truncated")])


async def test_a_rewritten_chain_is_found_against_kafka(release_svc: Service) -> None:
    """Who edits the last event and gives it a hash that fits leaves an intact chain: the
    copy on Kafka still tells."""
    [stream, _] = await written(release_svc)
    last = (await release_svc.load(stream))[-1]
    forged = last.model_copy(update={"data": {**last.data, "reason": "forged"}})
    forged = forged.model_copy(update={"hash": digest(forged)})
    await release_svc.sql(
        """UPDATE {events} SET data = $3::text::jsonb,
            metadata = jsonb_set(metadata, '{{hash}}', to_jsonb($4::text))
        WHERE stream_id = $1 AND stream_version = $2""",
        stream,
        last.streamversion,
        json.dumps(forged.data),
        forged.hash,
    )

    report = await release_svc.verify()

    # Its signature, over the old hash, tells as well: only release-svc's key could re-sign.
    assert found(report) == [(stream, 5, "signature"), (stream, 5, "mismatch")]


async def test_a_forged_copy_on_kafka_is_found(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    second = (await release_svc.load(stream))[1]
    forged = second.model_copy(update={"actor": "mallory"})
    publisher = Publisher(release_svc.infra.kafka, "forger")
    try:
        await publisher.publish([Message(release_svc.topic, forged.subject, forged.to_json())])
    finally:
        await publisher.close()

    report = await release_svc.verify()

    assert found(report, "kafka") == [(stream, 2, "mismatch")]
    assert found(report) == []


async def test_the_command_exits_1_and_names_the_broken_link(
    release_svc: Service, tmp_path: Path
) -> None:
    [stream, _] = await written(release_svc)
    runner = CliRunner()
    trusted = tmp_path / "trusted.json"
    trusted.write_text(json.dumps(release_svc.infra.keys.trusted()))
    args = [
        "verify",
        "--trusted-keys",
        str(trusted),
        "--database-url",
        release_svc.infra.database_url,
        "--kafka",
        release_svc.infra.kafka.kafka_bootstrap_servers,
        "--topic-prefix",
        release_svc.topic.removesuffix("release.events"),
        "--schema",
        f"release={release_svc.schema}",
    ]
    # As the auditor, whose only right is reading the services' topics.
    auditor = release_svc.infra.user_env(AUDITOR)
    clean = await asyncio.to_thread(runner.invoke, audit_app, [*args, "--json"], env=auditor)
    assert clean.exit_code == 0, clean.output
    answer = json.loads(clean.stdout)
    assert answer["ok"] is True
    stored = await stored_count(release_svc)
    signed = {s["service"]: s for s in answer["signatures"]}
    assert signed["release"] == {
        "service": "release",
        "signed": stored,
        "unsigned": 0,
        "invalid": 0,
    }
    release = [c for c in answer["checked"] if c["source"] == release_svc.schema]
    assert release[0]["events"] == await stored_count(release_svc)
    # The other services' schemas are not in this database: absent, which is no problem.
    assert {c["source"] for c in answer["checked"] if not c["exists"]} == {"dml", "deploy", "els"}

    await release_svc.sql(
        "DELETE FROM {events} WHERE stream_id = $1 AND stream_version = 3", stream
    )
    broken = await asyncio.to_thread(runner.invoke, audit_app, [*args, "--json"], env=auditor)
    assert broken.exit_code == 1
    [problem] = json.loads(broken.stdout)["problems"]
    assert (problem["stream"], problem["version"], problem["kind"]) == (stream, 3, "missing")
    shown = await asyncio.to_thread(runner.invoke, audit_app, args, env=auditor)
    assert shown.exit_code == 1
    assert "BROKEN: 1 problem" in shown.stdout

    # Without the trusted keys, no signature verifies: each event is a problem.
    untrusting = [a for a in args if a not in ("--trusted-keys", str(trusted))]
    blind = await asyncio.to_thread(
        runner.invoke,
        audit_app,
        [*untrusting, "--json"],
        env=auditor | {"FERRY_EVENT_TRUSTED_KEYS": ""},
    )
    assert blind.exit_code == 1
    assert {p["kind"] for p in json.loads(blind.stdout)["problems"]} >= {"signature"}


# --- the signatures -------------------------------------------------------------------


async def test_every_event_of_a_clean_log_is_signed_by_its_service(release_svc: Service) -> None:
    await written(release_svc)

    report = await release_svc.verify()

    assert report.ok, report.problems
    stored = await stored_count(release_svc)
    assert report.signatures == [Signatures("release", signed=stored)]


async def test_an_altered_signature_is_found(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    [first, *_] = await release_svc.load(stream)
    assert first.signature is not None
    # Another event's signature, validly encoded, made by the right key: over another hash.
    [_, second, *_] = await release_svc.load(stream)
    await release_svc.sql(
        """UPDATE {events} SET metadata = jsonb_set(metadata, '{{signature}}', to_jsonb($2::text))
        WHERE stream_id = $1 AND stream_version = 1""",
        stream,
        second.signature,
    )

    report = await release_svc.verify()

    assert not report.ok
    assert found(report) == [(stream, 1, "signature")]
    assert "does not verify" in report.problems[0].detail
    assert found(report, "kafka") == []  # the published copy is intact
    [counts] = report.signatures
    assert (counts.invalid, counts.unsigned) == (1, 0)


async def test_an_event_signed_by_an_untrusted_key_is_found(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    third = (await release_svc.load(stream))[2]
    resigned = EventSigner.from_pem(generate_pem()).signed(third)
    await release_svc.sql(
        """UPDATE {events} SET metadata = metadata
            || jsonb_build_object('signature', $2::text, 'signingkey', $3::text)
        WHERE stream_id = $1 AND stream_version = 3""",
        stream,
        resigned.signature,
        resigned.signingkey,
    )

    report = await release_svc.verify()

    assert found(report) == [(stream, 3, "signature")]
    assert "not one release-svc is trusted with" in report.problems[0].detail
    # The same key, trusted for another service only, is no better.
    other = Trust({"dml-svc": [EventSigner.from_pem(generate_pem()).public_key]})
    untrusted = await verify(
        release_svc.infra.database_url,
        release_svc.infra.kafka,
        [release_svc.source],
        other,
    )
    assert (stream, 1, "signature") in found(untrusted)


async def test_an_unsigned_event_is_counted_not_a_problem(release_svc: Service) -> None:
    [stream, _] = await written(release_svc)
    # As an event appended before services signed is stored.
    await release_svc.sql(
        """UPDATE {events} SET metadata = metadata
            || '{{"signature": null, "signingkey": null}}'::jsonb
        WHERE stream_id = $1 AND stream_version = 2""",
        stream,
    )

    report = await release_svc.verify()

    assert report.ok, report.problems
    stored = await stored_count(release_svc)
    assert report.signatures == [Signatures("release", signed=stored - 1, unsigned=1)]


# --- the trail --------------------------------------------------------------------------


def deployment(release_id: UUID, deployment_id: UUID) -> list[Event]:
    common = {"deployment_id": deployment_id, "release_id": release_id, "environment": "production"}
    return [
        DeploymentStarted(**common),
        DeploymentCompleted(**common, completed_at=datetime.now(UTC), deployed_by="dora"),
    ]


async def test_the_trail_of_a_release_spans_the_services_in_time_order(
    release_svc: Service, topic_prefix: str
) -> None:
    infra = release_svc.infra
    release = await planned(release_svc, moves=1)
    release_id = UUID(release["id"])
    unrelated = uuid4()
    await publish(
        infra, f"{topic_prefix}deploy.events", *deployment(release_id, uuid4()), actor="dora"
    )
    await publish(infra, f"{topic_prefix}deploy.events", *deployment(unrelated, uuid4()))
    els = ElsStarted(case_id=uuid4(), release_id=release_id, environment="production")
    await publish(infra, f"{topic_prefix}els.events", els, actor="elsa")

    async def reacted() -> bool:
        # release-svc records the deployment (its start and completion as milestones too)
        # and Early Life Support on the release itself.
        current = await release_svc.api.get(f"/releases/{release_id}")
        return current.headers["ETag"] == '"6"'

    await eventually(reacted, what="release-svc to record the deployment and ELS")
    moved = await release_svc.api.put(
        f"/releases/{release_id}/schedule",
        json={"planned_start": "2026-12-09", "planned_end": "2026-12-20", "reason": "later"},
        headers={"If-Match": '"6"', "X-Correlation-ID": "move-again"},
    )
    assert moved.status_code == 200, moved.text

    async def complete() -> Any:
        found = await read_trail(infra.kafka, release["identifier"], topic_prefix)
        types = {e.type for e in found.entries}
        done = {"ReleaseRescheduled", "ReleaseInEarlyLifeSupport"} <= types
        return found if done and len(found.entries) == 10 else None

    trail = await eventually(complete, what="the whole trail on the topics")

    assert trail.release_id == release_id
    assert trail.identifier == release["identifier"]
    times = [e.time for e in trail.entries]
    assert times == sorted(times)
    # What the test did, in its order; release-svc's own reactions to the other services'
    # events (ReleaseDeployed, ReleaseInEarlyLifeSupport, ReleaseMilestoneReached) come in
    # between, in theirs.
    reactions = {"ReleaseDeployed", "ReleaseInEarlyLifeSupport", "ReleaseMilestoneReached"}
    done = [(e.service, e.type, e.correlationid) for e in trail.entries]
    assert [d for d in done if d[1] not in reactions] == [
        ("release", "ReleasePlanned", "plan-1"),
        ("release", "ReleaseRescheduled", "move-1"),
        ("deploy", "DeploymentStarted", "test"),
        ("deploy", "DeploymentCompleted", "test"),
        ("els", "ElsStarted", "test"),
        ("release", "ReleaseRescheduled", "move-again"),
    ]
    assert done.index(("release", "ReleaseDeployed", "test")) > 3
    assert done.index(("release", "ReleaseInEarlyLifeSupport", "test")) > 4
    assert done.count(("release", "ReleaseMilestoneReached", "test")) == 2  # started, completed
    first = trail.entries[0]
    assert (first.actor, first.subject) == ("rita", str(release_id))
    assert "release-manager" in (first.roles or "")
    completed = next(e for e in trail.entries if e.type == "DeploymentCompleted")
    assert (completed.actor, completed.service) == ("dora", "deploy")
    assert "deployed_by=dora" in completed.summary

    by_id = await read_trail(infra.kafka, str(release_id), topic_prefix)
    assert [e.id for e in by_id.entries] == [e.id for e in trail.entries]

    shown = await asyncio.to_thread(
        CliRunner().invoke,
        audit_app,
        [
            "trail",
            release["identifier"],
            "--kafka",
            infra.kafka.kafka_bootstrap_servers,
            "--topic-prefix",
            topic_prefix,
            "--json",
        ],
    )
    assert shown.exit_code == 0, shown.output
    assert [e["type"] for e in json.loads(shown.stdout)["entries"]][:2] == [
        "ReleasePlanned",
        "ReleaseRescheduled",
    ]


async def test_an_unknown_release_has_no_trail(infra: Infra, topic_prefix: str) -> None:
    shown = await asyncio.to_thread(
        CliRunner().invoke,
        audit_app,
        [
            "trail",
            "REL-1999-0001",
            "--kafka",
            infra.kafka.kafka_bootstrap_servers,
            "--topic-prefix",
            topic_prefix,
        ],
    )
    assert shown.exit_code != 0
    assert "REL-1999-0001" in str(shown.exception) or "REL-1999-0001" in shown.output
