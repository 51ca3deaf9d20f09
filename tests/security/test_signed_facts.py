"""Signed facts: anything that can write to release.events tries to get around deploy-svc's
rules by publishing release-svc's facts itself, rather than its decisions: a freeze lifted,
the release's window moved, a service taken out of its scope (out from under a freeze),
readiness confirmed, the release re-planned for another team. deploy-svc acts on none of
them, records each as a ForeignEventRejected, and its facts stay those release-svc signed.
Every event type a consumer acts on is one its topic's service must sign."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.domain.facts import ReleaseFacts
from deploy_svc.main import spec as deploy_spec
from deploy_svc.projections import release_facts
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from els_svc.config import Settings as ElsSettings
from els_svc.main import spec as els_spec
from ferry.db import Database
from ferry.events import Event
from ferry.events.policy import FreezePeriodDeclared, FreezePeriodLifted
from ferry.events.release import (
    DeploymentWindow,
    DeploymentWindowsSet,
    MediaRef,
    ReadinessConfirmed,
    ReadinessItem,
    ReleaseApproved,
    ReleaseScopeSet,
    ScopeItem,
    ScopeKind,
)
from ferry.eventsigning import OWNERS, EventSigner, generate_pem
from ferry.freezes import FreezePeriod
from ferry.kafka import SERVICE_TOPICS
from ferry.service import ServiceSpec
from ferry.testing import release_planned
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import eventually, publish, serving, settings

OPENS = datetime(2027, 1, 12, 22, tzinfo=UTC)
WINDOW = DeploymentWindow(environment="production", start=OPENS, end=OPENS + timedelta(hours=4))
FORGERS = {
    "unsigned": None,
    "signed by a key nobody trusts": EventSigner.from_pem(generate_pem()),
}


@dataclass
class Deploy:
    infra: Infra
    settings: DeploySettings
    db: Database

    async def release_events(self, *events: Event, **how: Any) -> None:
        await publish(self.infra, self.settings.topic("release.events"), *events, **how)

    async def facts(self, release_id: UUID) -> ReleaseFacts | None:
        async with self.db.unit_of_work() as uow:
            return await release_facts.facts(uow, release_id)

    async def freezes(self) -> list[FreezePeriod]:
        async with self.db.unit_of_work() as uow:
            return await release_facts.freezes_in_force(uow)

    async def rejected(self) -> list[str]:
        """The types of the events deploy-svc recorded a ForeignEventRejected for."""
        url = self.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(
                f"SELECT data->>'event_type' FROM \"{self.settings.db_schema}\".events "
                "WHERE type = 'ForeignEventRejected'"
            )
        finally:
            await connection.close()
        return sorted(row[0] for row in rows)


@pytest.fixture
async def deploy(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Deploy]:
    s = settings(DeploySettings, infra, topic_prefix, work_dir=tmp_path / "work")
    db = Database(s.database_url, s.db_schema, "probe")
    try:
        async with serving(deploy_spec(s), headers=infra.issuer.bearer("vic", "viewer")):
            yield Deploy(infra, s, db)
    finally:
        await db.dispose()


@pytest.mark.parametrize("forger", FORGERS, ids=list(FORGERS))
async def test_forged_facts_lift_no_freeze_move_no_window_and_confirm_nothing(
    deploy: Deploy, forger: str
) -> None:
    release_id, freeze_id = uuid4(), uuid4()
    payments = ScopeItem(kind=ScopeKind.SERVICE, name="Payments")
    media = MediaRef(name="payments-api.tar.gz", version="1.0", sha256="ab" * 32)
    await deploy.release_events(
        release_planned(release_id=release_id, team="payments"),
        ReleaseScopeSet(release_id=release_id, items=[payments]),
        DeploymentWindowsSet(release_id=release_id, windows=[WINDOW]),
        ReleaseApproved(
            release_id=release_id,
            rfc="RFC-1",
            approvers=["carl"],
            package_revision=1,
            media=[media],
            readiness=[ReadinessItem.OPERATIONS_ACCEPTANCE],
        ),
        FreezePeriodDeclared(
            freeze_id=freeze_id,
            start=OPENS - timedelta(days=1),
            end=OPENS + timedelta(days=1),
            reason="year-end trading",
            environments=["production"],
            services=["Payments"],
        ),
    )

    async def known() -> ReleaseFacts | None:
        facts = await deploy.facts(release_id)
        settled = facts is not None and facts.approvers and await deploy.freezes()
        return facts if settled else None

    genuine = await eventually(known, what="release-svc's signed facts to be applied")
    later = OPENS + timedelta(days=3)
    forged: list[Event] = [
        FreezePeriodLifted(freeze_id=freeze_id, reason="lifted, honestly"),
        DeploymentWindowsSet(
            release_id=release_id,
            windows=[DeploymentWindow(environment="production", start=later, end=later)],
        ),
        ReleaseScopeSet(release_id=release_id, items=[]),
        ReadinessConfirmed(
            release_id=release_id,
            item=ReadinessItem.OPERATIONS_ACCEPTANCE,
            evidence="trust me",
            by="olly",
        ),
        release_planned(release_id=release_id, team="identity"),
    ]
    await deploy.release_events(*forged, signer=FORGERS[forger])

    async def all_refused() -> list[str] | None:
        found = await deploy.rejected()
        return found if len(found) >= len(forged) else None

    refused = await eventually(all_refused, what="every forged fact to be refused")
    assert refused == sorted(event.type for event in forged)
    assert await deploy.facts(release_id) == genuine
    assert [freeze.freeze_id for freeze in await deploy.freezes()] == [freeze_id]


def _specs(infra: Infra, topic_prefix: str, tmp_path: Path) -> list[ServiceSpec]:
    return [
        release_spec(settings(ReleaseSettings, infra, topic_prefix)),
        deploy_spec(settings(DeploySettings, infra, topic_prefix, work_dir=tmp_path / "w")),
        dml_spec(settings(DmlSettings, infra, topic_prefix, media_dir=tmp_path / "m")),
        els_spec(settings(ElsSettings, infra, topic_prefix)),
    ]


def test_every_event_a_consumer_acts_on_must_be_signed_by_the_service_it_comes_from(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    unowned = []
    for spec in _specs(infra, topic_prefix, tmp_path):
        readers = [spec.consumes, *spec.projections.values()]
        for topic, handlers in (pair for reader in readers for pair in reader.items()):
            if topic not in SERVICE_TOPICS:
                continue  # inbound: the change tool's MACed decisions, monitoring's signals
            owner = topic.removesuffix(".events") + "-svc"
            for event in handlers:
                kind = event.model_fields["type"].default
                if OWNERS.get(kind) != owner:
                    unowned.append(f"{spec.name} acts on {kind} from {topic}")
    assert unowned == []
