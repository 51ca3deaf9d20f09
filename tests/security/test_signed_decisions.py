"""Signed decisions against a real dml-svc, Kafka and PostgreSQL: anything that can write to
release.events tries to make a release available by publishing its validation and approval
itself — unsigned, signed by a key nobody trusts, signed by another service's key. The DML
makes no release available, records each refusal as a ForeignEventRejected on its own topic
(once, however often the record is redelivered), counts and logs it. A release signed by
release-svc's key becomes available, also after that key was rotated. And release-svc counts
no deployment outcome deploy-svc did not sign."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY

from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.consuming import Dispatcher
from ferry.db import Database
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.events.deploy import DeploymentCompleted, EnvironmentDefined
from ferry.events.release import MediaRef, ReleaseApproved, ReleaseValidated
from ferry.eventsigning import EventSigner, TrustedKeys, generate_pem
from ferry.kafka import Message, Position, Publisher
from ferry.kafka_acls import principal
from ferry.testing import envelope_for, release_planned
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic, serving, settings

VERSION = "2026.12.0"
MEDIA = b"payments service, build 2026.12.0\n" * 100


@dataclass
class Library:
    """A real DML, its settings and a librarian's client."""

    infra: Infra
    settings: DmlSettings
    api: httpx.AsyncClient
    media: list[MediaRef]

    @property
    def release_topic(self) -> str:
        return self.settings.topic("release.events")

    async def send(self, *envelopes: Envelope) -> None:
        """Put `envelopes` on release.events as they are, as release-svc's own Kafka user:
        its ACLs let it write there, so only the signature stands in the way."""
        publisher = Publisher(self.infra.kafka_as(principal("release-svc")), "anyone")
        try:
            messages = [Message(self.release_topic, e.subject, e.to_json()) for e in envelopes]
            await publisher.publish(messages)
        finally:
            await publisher.close()

    def decisions(self, signer: EventSigner | None) -> tuple[UUID, list[Envelope]]:
        """A new release: planned, validated and approved, each signed by `signer` as if
        release-svc had made it."""
        release_id = uuid4()
        decided: list[Event] = [
            ReleaseValidated(release_id=release_id, package_revision=1, kinds=["functional"]),
            ReleaseApproved(
                release_id=release_id,
                rfc="RFC-1",
                approvers=["carl"],
                package_revision=1,
                media=self.media,
            ),
        ]
        planned = envelope_for(
            release_planned(release_id=release_id, version=VERSION),
            source="release-svc",
            signer=signer,
        )
        return release_id, [
            planned,
            *(envelope_for(e, source="release-svc", signer=signer) for e in decided),
        ]

    async def redeliver(self, envelope: Envelope, position: Position) -> None:
        """Hand `envelope` to the DML's consumer as the record at `position` once more."""
        consumes = dml_spec(self.settings).consumes.values()
        handlers = {t: h for per_topic in consumes for t, h in per_topic.items()}
        trusted = TrustedKeys.from_setting(self.settings.trusted_event_keys())
        db = Database(self.settings.database_url, self.settings.db_schema, "dml-svc")
        try:
            await Dispatcher("dml-svc", db, handlers, trusted)(envelope, position)
        finally:
            await db.dispose()

    async def available(self, release_id: UUID) -> dict[str, Any] | None:
        entry = await self.api.get(f"/library/releases/{release_id}")
        if entry.status_code == 404:
            return None
        available: dict[str, Any] | None = entry.json().get("available")
        return available

    async def rejections(self, release_id: UUID) -> list[dict[str, Any]]:
        """The ForeignEventRejected the DML recorded about `release_id`, oldest first."""
        connection = await asyncpg.connect(
            self.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            rows = await connection.fetch(
                f'SELECT data::text FROM "{self.settings.db_schema}".events '
                "WHERE type = 'ForeignEventRejected' AND data->>'subject' = $1 "
                "ORDER BY position",
                str(release_id),
            )
        finally:
            await connection.close()
        return [json.loads(row[0]) for row in rows]


async def library(
    infra: Infra, topic_prefix: str, tmp_path: Path, **overrides: Any
) -> AsyncIterator[Library]:
    s = settings(
        DmlSettings,
        infra,
        topic_prefix,
        media_dir=tmp_path / "media",
        scrub_interval_seconds=0,
        **overrides,
    )
    librarian = infra.issuer.bearer("lib", "dml-librarian")
    async with serving(dml_spec(s), headers=librarian) as api:
        staged = await api.put(
            f"/media/payments-api.tar.gz/{VERSION}", content=MEDIA, params={"kind": "software"}
        )
        assert staged.status_code == 201, staged.text
        media = [
            MediaRef(name="payments-api.tar.gz", version=VERSION, sha256=staged.json()["sha256"])
        ]
        yield Library(infra, s, api, media)


@pytest.fixture
async def dml(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Library]:
    async for found in library(infra, topic_prefix, tmp_path):
        yield found


def rejected_count(consumer: str, event_type: str) -> float:
    value = REGISTRY.get_sample_value(
        "ferry_foreign_events_rejected_total",
        {"consumer": consumer, "type": event_type, "source": "release-svc"},
    )
    return value or 0.0


FORGERS: dict[str, Callable[[Infra], EventSigner | None]] = {
    "unsigned": lambda infra: None,
    "signed by a key nobody trusts": lambda infra: EventSigner.from_pem(generate_pem()),
    "signed by the DML's own key": lambda infra: infra.keys.signers["dml-svc"],
}


@pytest.mark.parametrize("forger", FORGERS, ids=list(FORGERS))
async def test_a_forged_approval_makes_no_release_available_and_is_recorded(
    dml: Library, forger: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ferry.consuming")
    before = rejected_count("dml-svc", "ReleaseApproved")
    release_id, envelopes = dml.decisions(FORGERS[forger](dml.infra))
    approval = envelopes[-1]

    await dml.send(*envelopes)

    async def all_refused() -> list[dict[str, Any]] | None:
        found = await dml.rejections(release_id)
        return found if len(found) >= 3 else None

    refused = await eventually(all_refused, what="the refusals to be recorded")
    [planned, validation, approved] = refused
    assert planned["event_type"] == "ReleasePlanned"
    assert validation["event_type"] == "ReleaseValidated"
    assert approved["event_type"] == "ReleaseApproved"
    assert approved["event_id"] == str(approval.id)
    assert approved["source"] == "release-svc"
    assert approved["consumer"] == "dml-svc"
    assert approved["topic"] == dml.release_topic
    assert approved["reason"]
    assert approved["signingkey"] == approval.signingkey
    # The same record delivered again, as after a crash before the offset commit: the DML's
    # own consumer code, on its own database, records nothing more.
    position = Position(dml.release_topic, approved["partition"], approved["offset"])
    await dml.redeliver(approval, position)
    assert len(await dml.rejections(release_id)) == 3
    assert await dml.available(release_id) is None
    assert rejected_count("dml-svc", "ReleaseApproved") == before + 1
    [line] = [r.getMessage() for r in caplog.records if str(approval.id) in r.getMessage()]
    assert f"{dml.release_topic}[{approved['partition']}]@{approved['offset']}" in line

    # On the DML's own topic, the audit log, with the rest of its events.
    on_topic = await read_topic(dml.infra.kafka, dml.settings.topic("dml.events"), expect=3)
    recorded = [e for e in on_topic if e.type == "ForeignEventRejected"]
    assert {e.data["event_id"] for e in recorded} >= {str(approval.id)}
    assert len([e for e in recorded if e.data["event_id"] == str(approval.id)]) == 1
    assert not [e for e in on_topic if e.type == "ReleaseAvailable"]


async def test_a_decision_signed_by_release_svc_makes_the_release_available(
    dml: Library,
) -> None:
    release_id, envelopes = dml.decisions(dml.infra.keys.signers["release-svc"])

    await dml.send(*envelopes)

    await eventually(lambda: dml.available(release_id), what="the release to become available")
    assert await dml.rejections(release_id) == []
    # The DML's own decision, in turn, carries its signature, by a key it publishes.
    keys = (await dml.api.get("/signing-keys")).json()
    assert keys["service"] == "dml-svc"
    trusted = TrustedKeys.from_setting({"dml-svc": [k["publickey"] for k in keys["keys"]]})
    on_topic = await read_topic(dml.infra.kafka, dml.settings.topic("dml.events"), expect=1)
    [available] = [e for e in on_topic if e.type == "ReleaseAvailable"]
    assert available.signingkey == keys["keys"][0]["keyid"]
    assert trusted.refusal(available) is None


async def test_signing_keys_are_open_to_all(dml: Library) -> None:
    async with httpx.AsyncClient(base_url=str(dml.api.base_url)) as anonymous:
        answer = await anonymous.get("/signing-keys")
    assert answer.status_code == 200
    signer = dml.infra.keys.signers["dml-svc"]
    expected = {"keyid": signer.key_id, "publickey": signer.public_key}
    assert answer.json() == {"service": "dml-svc", "algorithm": "Ed25519", "keys": [expected]}


async def test_a_rotated_key_keeps_the_old_keys_decisions_accepted(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    old, new = infra.keys.signers["release-svc"], EventSigner.from_pem(generate_pem())
    trusted = infra.keys.trusted() | {"release-svc": [old.public_key, new.public_key]}
    async for dml in library(infra, topic_prefix, tmp_path, event_trusted_keys=trusted):
        signed_before, before = dml.decisions(old)
        signed_after, after = dml.decisions(new)

        await dml.send(*before, *after)

        for release_id in (signed_before, signed_after):
            await eventually(partial(dml.available, release_id), what="availability")
            assert await dml.rejections(release_id) == []
        # The old key's events stay verifiable by the new trust, as on the topic.
        assert TrustedKeys.from_setting(trusted).refusal(before[-1]) is None


async def test_release_svc_counts_no_deployment_that_deploy_svc_did_not_sign(
    infra: Infra, topic_prefix: str
) -> None:
    """The table covers every owner: release-svc's delivery metrics take a deployment's
    outcome from deploy-svc's signature only, not from release-svc's own key."""
    spec = release_spec(settings(ReleaseSettings, infra, topic_prefix))
    manager = infra.issuer.bearer("rita", "release-manager")
    topic = f"{topic_prefix}deploy.events"
    async with serving(spec, headers=infra.issuer.bearer("vic", "viewer")) as api:
        plan = {"version": "1.0", "planned_start": "2026-12-01", "planned_end": "2026-12-02"}
        created = await api.post("/releases", json={**plan, "name": "A"}, headers=manager)
        release_id = UUID(created.json()["id"])
        now = datetime.now(UTC)
        production = EnvironmentDefined(environment="production", production=True, targets=[])
        await publish(infra, topic, production)

        def completed() -> DeploymentCompleted:
            return DeploymentCompleted(
                deployment_id=uuid4(),
                release_id=release_id,
                environment="production",
                completed_at=now,
            )

        forged = completed()
        await publish(infra, topic, forged, signer=infra.keys.signers["release-svc"])
        await publish(infra, topic, completed())

        async def refused() -> dict[str, str] | None:
            connection = await asyncpg.connect(
                infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
            )
            try:
                rows = await connection.fetch(
                    "SELECT data->>'consumer', data->>'reason' "
                    f'FROM "{spec.settings.db_schema}".events '
                    "WHERE type = 'ForeignEventRejected' AND data->>'subject' = $1",
                    str(forged.deployment_id),
                )
            finally:
                await connection.close()
            by_consumer = {row[0]: row[1] for row in rows}
            return by_consumer if "release-svc.delivery" in by_consumer else None

        async def counted() -> dict[str, Any] | None:
            body: dict[str, Any] = (await api.get("/delivery-metrics")).json()
            return body if body["change_failure_rate"]["finished"] >= 1 else None

        # By each of its consumers that would act on it: the projection of the metrics too.
        reasons = await eventually(refused, what="the forged outcome to be refused")
        assert all("not one deploy-svc is trusted with" in r for r in reasons.values())
        metrics = await eventually(counted, what="the genuine outcome to be counted")
        assert metrics["change_failure_rate"]["finished"] == 1
