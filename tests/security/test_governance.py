"""Review row 4: the roles segregation of duties constrains cannot switch it off.

A release manager emptying a policy's segregation rules, a release manager lifting a change
authority's freeze, a deployer declassifying production: each is only a proposal, in force
once a *different* change authority approves it; until then nothing governed is written,
and the proposer can never approve it, whatever roles they hold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import serving, settings

FREEZE = {
    "start": "2027-03-10T00:00:00Z",
    "end": "2027-03-12T00:00:00Z",
    "reason": "quarter close",
    "environments": ["production"],
    "services": [],
}


@dataclass
class Services:
    infra: Infra
    release: httpx.AsyncClient
    deploy: httpx.AsyncClient
    release_schema: str
    deploy_schema: str
    root: Path

    def as_(self, subject: str, *roles: str, etag: str | None = None) -> dict[str, str]:
        headers = self.infra.issuer.bearer(subject, *roles)
        return {**headers, "If-Match": etag} if etag else headers

    async def types(self, schema: str) -> list[str]:
        """The types of every event stored in `schema`."""
        url = self.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch(f'SELECT type FROM "{schema}".events')
        finally:
            await connection.close()
        return [row["type"] for row in rows]


@pytest.fixture
async def services(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Services]:
    release = settings(ReleaseSettings, infra, topic_prefix)
    deploy = settings(
        DeploySettings,
        infra,
        topic_prefix,
        work_dir=tmp_path / "work",
        drivers=["local"],
        local_roots=[tmp_path],
    )
    async with (
        serving(release_spec(release)) as release_api,
        serving(deploy_spec(deploy)) as deploy_api,
    ):
        yield Services(
            infra, release_api, deploy_api, release.db_schema, deploy.db_schema, tmp_path
        )


def refused(answer: httpx.Response, status: int, rule: str | None = None) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    if rule is not None:
        assert answer.json()["rule"] == rule


async def test_a_release_manager_cannot_switch_off_segregation_of_duties(
    services: Services,
) -> None:
    api = services.release
    # Rita holds change-authority too: still not enough to approve her own proposal.
    rita = services.as_("rita", "release-manager", "change-authority", etag='"0"')
    off = {
        "required_validations": ["functional"],
        "approvers": 1,
        "high_risk_approvers": 1,
        "segregation": [],
        "reason": "segregation slows us down",
    }
    proposed = await api.put("/policies/major", json=off, headers=rita)
    assert proposed.status_code == 202, proposed.text
    proposal = proposed.headers["Location"]
    assert (await api.get("/policies/major", headers=rita)).json()["segregation"] != []

    own = await api.post(f"{proposal}/approve", headers={**rita, "If-Match": '"1"'})
    refused(own, 403, "two-person-rule")
    rob = services.as_("rob", "release-manager", "deployer", etag='"1"')
    refused(await api.post(f"{proposal}/approve", headers=rob), 403)

    policy = await api.get("/policies/major", headers=rob)
    assert (policy.json()["segregation"] != [], policy.headers["ETag"]) == (True, '"0"')
    assert "ReleasePolicySet" not in await services.types(services.release_schema)
    pending = await api.get("/proposals", params={"state": "pending"}, headers=rob)
    assert [p["proposed_by"] for p in pending.json()["items"]] == ["rita"]

    # A change authority other than the proposer may reject it: nothing changes, for good.
    carl = services.as_("carl", "change-authority", etag='"1"')
    no = await api.post(f"{proposal}/reject", json={"reason": "not ever"}, headers=carl)
    assert no.json()["state"] == "rejected"
    late = await api.post(
        f"{proposal}/approve", headers=services.as_("cora", "change-authority", etag='"2"')
    )
    refused(late, 409)
    assert "ReleasePolicySet" not in await services.types(services.release_schema)


async def test_a_release_manager_cannot_lift_a_change_authoritys_freeze(
    services: Services,
) -> None:
    api = services.release
    declared = await api.post(
        "/freezes", json=FREEZE, headers=services.as_("carl", "change-authority")
    )
    assert declared.status_code == 201, declared.text
    freeze = declared.headers["Location"]
    rita = services.as_("rita", "release-manager", "change-authority", etag='"1"')
    proposed = await api.post(f"{freeze}/lift", json={"reason": "we need to ship"}, headers=rita)
    assert proposed.status_code == 202, proposed.text
    refused(
        await api.post(f"{proposed.headers['Location']}/approve", headers=rita),
        403,
        "two-person-rule",
    )
    assert not (await api.get(freeze, headers=rita)).json()["lifted"]
    assert "FreezePeriodLifted" not in await services.types(services.release_schema)

    # The freeze's own declarer may approve someone else's proposal: then it is lifted.
    await approved(api, services.infra, proposed, approver="carl")
    assert (await api.get(freeze, headers=rita)).json()["lifted"]


async def test_a_deployer_cannot_declassify_production(services: Services) -> None:
    api = services.deploy
    target = {"name": "web-1", "driver": "local", "settings": {"path": str(services.root / "web")}}
    production = {"production": True, "targets": [target], "reason": "the web tier"}
    dora = services.as_("dora", "deployer", "change-authority")
    first = await api.put("/environments/production", json=production, headers=dora)
    assert first.status_code == 202, first.text
    assert (await api.get("/environments/production", headers=dora)).status_code == 404
    await approved(api, services.infra, first, approver="carl")
    defined = await api.get("/environments/production", headers=dora)
    assert (defined.json()["production"], defined.headers["ETag"]) == (True, '"1"')

    dora = services.as_("dora", "deployer", "change-authority", etag='"1"')
    declassified = {**production, "production": False, "reason": "faster deployments"}
    proposed = await api.put("/environments/production", json=declassified, headers=dora)
    assert proposed.status_code == 202, proposed.text
    approve = f"{proposed.headers['Location']}/approve"
    refused(await api.post(approve, headers={**dora, "If-Match": '"1"'}), 403, "two-person-rule")
    unreasoned = await api.put(
        "/environments/production", json={**declassified, "reason": ""}, headers=dora
    )
    refused(unreasoned, 422)
    assert unreasoned.json()["errors"][0]["field"] == "reason"

    elsewhere = {"name": "web-1", "driver": "local", "settings": {"path": str(services.root / "x")}}
    moved = await api.put(
        "/environments/production", json={**production, "targets": [elsewhere]}, headers=dora
    )
    assert moved.status_code == 202, "a production environment's targets are governed too"
    still = await api.get("/environments/production", headers=dora)
    assert (still.json()["production"], still.json()["targets"][0]["settings"]["path"]) == (
        True,
        str(services.root / "web"),
    )
    assert (await services.types(services.deploy_schema)).count("EnvironmentDefined") == 1

    # Approving one proposal makes the others stale: each was made against version 1.
    await approved(api, services.infra, moved, approver="carl")
    stale = await api.post(approve, headers=services.as_("carl", "change-authority", etag='"1"'))
    refused(stale, 409)
    assert (await api.get("/environments/production", headers=dora)).json()["production"]


async def test_other_environments_change_without_a_proposal(services: Services) -> None:
    target = {"name": "web-1", "driver": "local", "settings": {"path": str(services.root / "t")}}
    dora = services.as_("dora", "deployer")
    staging = await services.deploy.put(
        "/environments/staging", json={"targets": [target]}, headers=dora
    )
    assert staging.status_code == 200, staging.text


async def test_another_environment_cannot_reach_productions_targets(
    services: Services,
) -> None:
    """Staging is not governed; were it free to name production's folder, deploying "to
    staging" would reach live around the two-person rule, segregation and freezes."""
    api = services.deploy
    live = {"name": "web-1", "driver": "local", "settings": {"path": str(services.root / "web")}}
    production = {"production": True, "targets": [live], "reason": "the web tier"}
    proposed = await api.put(
        "/environments/production", json=production, headers=services.as_("dora", "deployer")
    )
    await approved(api, services.infra, proposed, approver="carl")

    dora = services.as_("dora", "deployer")
    inside = {**live, "settings": {"path": str(services.root / "web" / "releases")}}
    for target in (live, inside):
        sneaky = await api.put("/environments/staging", json={"targets": [target]}, headers=dora)
        refused(sneaky, 422)
        assert sneaky.json()["errors"][0]["field"] == "targets.0.settings"
        assert "production environment" in sneaky.json()["detail"]
    assert (await api.get("/environments/staging", headers=dora)).status_code == 404
    assert (await services.types(services.deploy_schema)).count("EnvironmentDefined") == 1
