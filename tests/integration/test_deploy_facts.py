"""What deploy-svc learns from the topics (release-svc's, the DML's and its own), read back
as the facts deployment plans are judged against; events of two topics in either order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from uuid import UUID, uuid4

import httpx
import pytest

from deploy_svc.config import Settings
from deploy_svc.domain.facts import ReleaseFacts, Window
from deploy_svc.main import spec
from deploy_svc.projections import release_facts
from ferry.db import Database, UnitOfWork
from ferry.events import Event
from ferry.events.deploy import DeploymentCompleted, DeploymentRolledBack
from ferry.events.dml import (
    LibraryEntryOpened,
    ManifestItem,
    MediaRevoked,
    ReleaseAvailable,
    ReleaseRevoked,
)
from ferry.events.policy import FreezePeriodDeclared, FreezePeriodLifted
from ferry.events.release import (
    DeploymentWindow,
    DeploymentWindowsSet,
    ReleaseApproved,
    ReleaseCancelled,
    ReleaseDependenciesSet,
    ReleaseScopeSet,
    ScopeItem,
    ScopeKind,
)
from ferry.freezes import FreezePeriod
from ferry.manifest import SignedManifest, canonical
from ferry.testing import release_planned
from tests.support.infra import Infra
from tests.support.services import eventually, publish, serving, settings

T = TypeVar("T")
OPENS = datetime(2026, 12, 10, 22, tzinfo=UTC)
ITEM = ManifestItem(name="payments-api.tar.gz", version="2026.12.0", sha256="ab" * 32, size=9)


@dataclass
class Deploy:
    """deploy-svc running, its topics, and a way to read its facts."""

    infra: Infra
    settings: Settings
    db: Database
    api: httpx.AsyncClient

    async def release_events(self, *events: Event) -> None:
        await publish(self.infra, self.settings.topic("release.events"), *events)

    async def dml_events(self, *events: Event) -> None:
        await publish(self.infra, self.settings.topic("dml.events"), *events)

    async def deploy_events(self, *events: Event) -> None:
        await publish(self.infra, self.settings.topic("deploy.events"), *events)

    async def facts(self, release_id: UUID) -> ReleaseFacts | None:
        async with self.db.unit_of_work() as uow:
            return await release_facts.facts(uow, release_id)

    async def until(
        self, release_id: UUID, holds: Callable[[ReleaseFacts], bool], what: str
    ) -> ReleaseFacts:
        async def probe() -> ReleaseFacts | None:
            found = await self.facts(release_id)
            return found if found is not None and holds(found) else None

        return await eventually(probe, what=what)

    async def query(self, read: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        async with self.db.unit_of_work() as uow:
            return await read(uow)


@pytest.fixture
async def deploy(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Deploy]:
    s = settings(Settings, infra, topic_prefix, work_dir=tmp_path / "work")
    db = Database(s.database_url, s.db_schema, "probe")
    try:
        async with serving(spec(s), headers=infra.issuer.bearer("vic", "viewer")) as api:
            yield Deploy(infra, s, db, api)
    finally:
        await db.dispose()


def available(release_id: UUID) -> ReleaseAvailable:
    text = canonical(release_id, "2026.12.0", [ITEM], OPENS - timedelta(days=3))
    return ReleaseAvailable(
        release_id=release_id, package_revision=1, manifest=text, signature="c2ln", key_id="k1"
    )


def plan(release_id: UUID, depends_on: UUID) -> list[Event]:
    """release-svc's events of a planned, scoped, windowed and approved release."""
    return [
        release_planned(release_id=release_id, identifier="REL-2026-0042", version="2026.12.0"),
        ReleaseScopeSet(
            release_id=release_id,
            items=[
                ScopeItem(kind=ScopeKind.SERVICE, name="Payments"),
                ScopeItem(kind=ScopeKind.APPLICATION, name="payments-api"),
                ScopeItem(kind=ScopeKind.DOCUMENTATION, name="runbook"),
            ],
        ),
        DeploymentWindowsSet(
            release_id=release_id,
            windows=[
                DeploymentWindow(
                    environment="production", start=OPENS, end=OPENS + timedelta(hours=4)
                ),
                DeploymentWindow(
                    environment="staging",
                    start=OPENS - timedelta(days=2),
                    end=OPENS - timedelta(days=1),
                ),
            ],
        ),
        ReleaseDependenciesSet(release_id=release_id, depends_on=[depends_on]),
        ReleaseApproved(
            release_id=release_id,
            rfc="RFC-7",
            approvers=["carl", "cleo"],
            package_revision=1,
            media=[],
            segregation=["approver-cannot-deploy-to-production", "one-gate-per-person"],
            built_by="bob",
            validated_by=["tess", "tom"],
        ),
    ]


def expected(release_id: UUID, depends_on: UUID, *, revoked: bool) -> ReleaseFacts:
    return ReleaseFacts(
        release_id=release_id,
        identifier="REL-2026-0042",
        version="2026.12.0",
        windows={
            "production": Window(OPENS, OPENS + timedelta(hours=4)),
            "staging": Window(OPENS - timedelta(days=2), OPENS - timedelta(days=1)),
        },
        depends_on=frozenset({depends_on}),
        approvers=frozenset({"carl", "cleo"}),
        built_by="bob",
        validated_by=frozenset({"tess", "tom"}),
        segregation=frozenset({"approver-cannot-deploy-to-production", "one-gate-per-person"}),
        services=frozenset({"Payments"}),
        configuration_items=frozenset({"payments-api"}),
        available=SignedManifest(available(release_id).manifest, "c2ln", "k1"),
        revoked=revoked,
    )


async def test_release_facts_whichever_topic_speaks_first(deploy: Deploy) -> None:
    plan_first, dml_first, dependency = uuid4(), uuid4(), uuid4()

    await deploy.release_events(*plan(plan_first, dependency))
    await deploy.until(plan_first, lambda f: bool(f.approvers), "the plan")
    await deploy.dml_events(available(plan_first))
    found = await deploy.until(plan_first, lambda f: f.available is not None, "availability")
    assert found == expected(plan_first, dependency, revoked=False)

    # The DML's events first: availability, then one of the manifest's media revoked.
    revoked_media = MediaRevoked(
        media_id=uuid4(),
        name=ITEM.name,
        version=ITEM.version,
        sha256=ITEM.sha256,
        reason="CVE-2026-1234",
    )
    await deploy.dml_events(available(dml_first), revoked_media)

    async def dml_applied() -> bool:
        return bool(
            await deploy.query(
                lambda uow: uow.fetchval(
                    f'SELECT count(*) FROM "{uow.schema}".release_facts f, '
                    f'"{uow.schema}".revoked_media r WHERE f.release_id = $1 '
                    "AND f.manifest IS NOT NULL",
                    dml_first,
                )
            )
        )

    await eventually(dml_applied, what="the DML's events")
    assert await deploy.facts(dml_first) is None  # not planned: not known yet
    await deploy.release_events(*plan(dml_first, dependency))
    found = await deploy.until(dml_first, lambda f: bool(f.approvers), "the plan after the DML's")
    assert found == expected(dml_first, dependency, revoked=True)
    # The same media are in the first release's manifest too: it is revoked as well.
    assert (await deploy.facts(plan_first)) == expected(plan_first, dependency, revoked=True)


async def test_a_revoked_or_cancelled_release_says_so(deploy: Deploy) -> None:
    revoked, cancelled = uuid4(), uuid4()
    await deploy.dml_events(
        ReleaseRevoked(release_id=revoked, reason="licence withdrawn", media=[]),
    )
    await deploy.release_events(
        release_planned(release_id=revoked, identifier="REL-2026-0001"),
        release_planned(release_id=cancelled, identifier="REL-2026-0002"),
        ReleaseCancelled(release_id=cancelled, reason="superseded"),
    )
    found = await deploy.until(revoked, lambda f: f.revoked, "the revocation")
    assert found.available is None
    await deploy.until(cancelled, lambda f: f.cancelled, "the cancellation")
    # The catalog, which the facts' handlers keep beside them, learnt it too.
    entry = await deploy.api.get(f"/catalog/releases/{cancelled}")
    assert entry.status_code == 200, entry.text
    assert entry.json()["cancelled"] is True


async def test_the_catalog_follows_the_library_entry(deploy: Deploy) -> None:
    release_id = uuid4()

    async def library_state(state: str) -> bool:
        entry = await deploy.api.get(f"/catalog/releases/{release_id}")
        return entry.status_code == 200 and entry.json()["library_state"] == state

    await deploy.dml_events(LibraryEntryOpened(release_id=release_id, name="Pay", version="1"))
    await eventually(lambda: library_state("open"), what="the entry opened")
    await deploy.dml_events(available(release_id))
    await eventually(lambda: library_state("available"), what="the release available")
    await deploy.dml_events(ReleaseRevoked(release_id=release_id, reason="licence", media=[]))
    await eventually(lambda: library_state("revoked"), what="the release revoked")


async def test_freezes_in_force(deploy: Deploy) -> None:
    kept, lifted = uuid4(), uuid4()
    await deploy.release_events(
        FreezePeriodDeclared(
            freeze_id=kept,
            start=OPENS,
            end=OPENS + timedelta(days=2),
            reason="year-end trading",
            environments=["production"],
            services=["Payments"],
        ),
        FreezePeriodDeclared(
            freeze_id=lifted,
            start=OPENS,
            end=OPENS + timedelta(days=1),
            reason="audit",
            environments=[],
            services=[],
        ),
        FreezePeriodLifted(freeze_id=lifted, reason="audit moved"),
    )

    async def settled() -> list[FreezePeriod] | None:
        freezes = await deploy.query(release_facts.freezes_in_force)
        return freezes if [f.freeze_id for f in freezes] == [kept] else None

    [freeze] = await eventually(settled, what="one freeze in force")
    assert freeze.reason == "year-end trading"
    assert freeze.applies_to("production", {"Payments", "Ledger"})
    assert freeze.holds_at(OPENS)
    assert not freeze.applies_to("staging", {"Payments"})
    after = OPENS + timedelta(days=3)
    assert (
        await deploy.query(lambda uow: release_facts.freezes_in_force(uow, ending_after=after))
        == []
    )


async def test_deployed_to_counts_completed_deployments_not_rolled_back(deploy: Deploy) -> None:
    live, elsewhere, rolled_back = uuid4(), uuid4(), uuid4()
    last = uuid4()

    def completed(release_id: UUID, environment: str, deployment_id: UUID) -> Event:
        return DeploymentCompleted(
            deployment_id=deployment_id, release_id=release_id, environment=environment
        )

    await deploy.deploy_events(
        completed(live, "production", uuid4()),
        completed(elsewhere, "staging", uuid4()),
        completed(rolled_back, "production", last),
        DeploymentRolledBack(deployment_id=last, release_id=rolled_back, environment="production"),
    )
    asked = [live, elsewhere, rolled_back]

    async def production() -> set[UUID] | None:
        found = await deploy.query(lambda uow: release_facts.deployed_to(uow, asked, "production"))
        staging = await deploy.query(lambda uow: release_facts.deployed_to(uow, asked, "staging"))
        return found if staging == {elsewhere} and found == {live} else None

    assert await eventually(production, what="the deployments") == {live}
