"""A release as release-svc would publish it, for tests of the services downstream of it:
its media staged in a real dml-svc, its events on release.events."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from ferry.events.release import (
    DeploymentWindow,
    DeploymentWindowsSet,
    Level,
    MediaRef,
    ReadinessItem,
    ReleaseApproved,
    ReleasePackageBuilt,
    ReleaseScopeSet,
    ReleaseValidated,
    RiskRule,
    ScopeItem,
    ScopeKind,
)
from ferry.testing import release_planned
from tests.support.infra import Infra
from tests.support.services import publish

MEDIA = "payments-api.tar.gz"


async def built_release(
    infra: Infra,
    dml: httpx.AsyncClient,
    release_topic: str,
    version: str,
    *,
    window: tuple[datetime, datetime] | None = None,
    **plan: Any,
) -> tuple[UUID, MediaRef]:
    """A release of `version`: its media staged in the DML (through `dml`, a librarian's
    client), planned, scoped to the payments service, with a production window (`window`'s
    start and end, else the three hours around now), its package built by bob: what a
    development or test environment may take. Its id and its media."""
    release_id = uuid4()
    staged = await dml.put(
        f"/media/{MEDIA}/{version}",
        content=f"payments {version}\n".encode() * 1000,
        headers={"Content-Type": "application/gzip"},
    )
    assert staged.status_code == 201, staged.text
    media = MediaRef(name=MEDIA, version=version, sha256=staged.json()["sha256"])
    now = datetime.now(UTC)
    start, end = window or (now - timedelta(hours=1), now + timedelta(hours=2))
    production = DeploymentWindow(environment="production", start=start, end=end)
    identifier = f"REL-2026-{version.replace('.', '')}"
    await publish(
        infra,
        release_topic,
        release_planned(release_id=release_id, version=version, identifier=identifier, **plan),
        ReleaseScopeSet(
            release_id=release_id, items=[ScopeItem(kind=ScopeKind.SERVICE, name="payments")]
        ),
        DeploymentWindowsSet(release_id=release_id, windows=[production]),
        ReleasePackageBuilt(release_id=release_id, revision=1, media=[media], built_by="bob"),
    )
    return release_id, media


async def approved_release(
    infra: Infra,
    dml: httpx.AsyncClient,
    release_topic: str,
    version: str,
    *,
    readiness: Sequence[ReadinessItem] = (),
    window: tuple[datetime, datetime] | None = None,
    risk: RiskRule | None = None,
    **plan: Any,
) -> UUID:
    """`built_release`, validated (by tess) and approved by carl, `readiness` to be
    confirmed before production, of `risk`'s level and held to its rule (else low risk, no
    rule) — so the DML makes it available."""
    release_id, media = await built_release(
        infra, dml, release_topic, version, window=window, **plan
    )
    await publish(
        infra,
        release_topic,
        ReleaseValidated(release_id=release_id, package_revision=1, kinds=["functional"]),
        ReleaseApproved(
            release_id=release_id,
            rfc="RFC-1",
            approvers=["carl"],
            package_revision=1,
            media=[media],
            segregation=["approver-cannot-deploy-to-production", "one-gate-per-person"],
            built_by="bob",
            validated_by=["tess"],
            readiness=list(readiness),
            risk_level=risk.level if risk else Level.LOW,
            risk_rule=risk,
        ),
    )
    return release_id
