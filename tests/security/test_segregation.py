"""Segregation of duties against the real services: one person holding several roles tries to
fill two gates of one release — validate then approve, plan then approve, approve then
validate, build or validate then deploy to production. Each is refused with a 403 problem
naming the rule, and nothing is appended."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.events.dml import MediaKind, MediaStaged
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.published import approved_release
from tests.support.services import eventually, publish, read_topic, serving, settings

PLAN = {
    "name": "Payments 2026.12",
    "version": "2026.12.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-20",
    "owners": ["bob"],
}
MEDIA = {"name": "payments-api.tar.gz", "version": "2026.12.0", "sha256": "9f" * 32}


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def stored_rows(infra: Infra, schema: str, where: str, arg: str) -> int:
    """How many events of `schema`'s store match `where` (with `arg` as $1)."""
    connection = await asyncpg.connect(_plain(infra.database_url))
    try:
        count = await connection.fetchval(
            f'SELECT count(*) FROM "{schema}".events WHERE {where}', arg
        )
    finally:
        await connection.close()
    return int(count)


def refused_by(answer: httpx.Response, rule: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["rule"] == rule
    assert rule in answer.json()["detail"]


# --- release-svc: the validate, approve and plan gates ---------------------------------


@pytest.fixture
def release_settings(infra: Infra, topic_prefix: str) -> ReleaseSettings:
    return settings(ReleaseSettings, infra, topic_prefix)


@pytest.fixture
async def api(release_settings: ReleaseSettings, infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc; rita, a release manager, calls it unless told otherwise."""
    async with serving(
        release_spec(release_settings), headers=infra.issuer.bearer("rita", "release-manager")
    ) as client:
        yield client


class Release:
    """One release through release-svc's API, and its stream in the store."""

    def __init__(self, api: httpx.AsyncClient, infra: Infra, s: ReleaseSettings) -> None:
        self.api, self.infra, self.settings = api, infra, s
        self.id, self.etag = "", ""

    @property
    def path(self) -> str:
        return f"/releases/{self.id}"

    async def call(
        self, method: str, part: str, body: dict[str, Any], subject: str, *roles: str
    ) -> httpx.Response:
        headers = {**self.infra.issuer.bearer(subject, *roles), "If-Match": self.etag}
        answer = await self.api.request(method, self.path + part, json=body, headers=headers)
        if answer.status_code == 200:
            self.etag = answer.headers["ETag"]
        return answer

    async def stored(self) -> int:
        """The release's stream version in the store: its count of events."""
        return await stored_rows(
            self.infra, self.settings.db_schema, "stream_id = $1", f"release-{self.id}"
        )

    async def unchanged_after(self, answer: httpx.Response, rule: str, before: int) -> None:
        refused_by(answer, rule)
        current = await self.api.get(self.path)
        assert current.headers["ETag"] == self.etag
        assert await self.stored() == before == int(self.etag.strip('"'))

    async def validated(self) -> None:
        """Planned by rita, with a backout plan and a low risk; packaged by bob (an owner);
        tess passes both kinds a minor release needs."""
        created = await self.api.post("/releases", json=PLAN)
        assert created.status_code == 201, created.text
        self.id, self.etag = created.json()["id"], created.headers["ETag"]
        steps = {"trigger_conditions": ["errors"], "steps": ["roll back"]}
        assert (
            await self.call("PUT", "/backout-plan", steps, "rita", "release-manager")
        ).is_success
        risk = {"likelihood": "low", "impact": "low"}
        assert (await self.call("PUT", "/risk", risk, "rita", "release-manager")).is_success
        staged = MediaStaged(
            media_id=uuid4(),
            name=MEDIA["name"],
            version=MEDIA["version"],
            sha256=MEDIA["sha256"],
            size=1024,
            kind=MediaKind.SOFTWARE,
        )
        await publish(self.infra, self.settings.topic("dml.events"), staged)

        async def packaged() -> httpx.Response | None:
            answer = await self.call(
                "PUT", "/package", {"media": [MEDIA]}, "bob", "release-manager"
            )
            return answer if answer.status_code == 200 else None

        await eventually(packaged, what="the package to be accepted")
        for kind in ("functional", "integration"):
            result = {"kind": kind, "outcome": "passed", "evidence": f"https://ci.example/{kind}"}
            tested = await self.call("POST", "/validations", result, "tess", "tester")
            assert tested.status_code == 200, tested.text
        assert tested.json()["status"] == "validated"

    async def approve(self, subject: str, *roles: str) -> httpx.Response:
        return await self.call("POST", "/approvals", {"rfc": "RFC-1"}, subject, *roles)


@pytest.fixture
async def release(
    api: httpx.AsyncClient, infra: Infra, release_settings: ReleaseSettings
) -> Release:
    validated = Release(api, infra, release_settings)
    await validated.validated()
    return validated


async def test_a_tester_who_is_also_a_change_authority_may_not_approve(release: Release) -> None:
    before = await release.stored()
    answer = await release.approve("tess", "tester", "change-authority")
    await release.unchanged_after(answer, "tester-cannot-approve", before)
    # Someone who filled no gate approves, and the approval names the gates' people.
    assert (await release.approve("carl", "change-authority")).json()["status"] == "approved"
    s = release.settings
    published = await read_topic(release.infra.kafka, s.topic("release.events"), expect=8)
    [approval] = [e for e in published if e.type == "ReleaseApproved"]
    assert (approval.data["built_by"], approval.data["validated_by"]) == ("bob", ["tess"])
    assert "one-gate-per-person" in approval.data["segregation"]


async def test_the_release_manager_who_planned_it_may_not_approve(release: Release) -> None:
    before = await release.stored()
    answer = await release.approve("rita", "release-manager", "change-authority")
    await release.unchanged_after(answer, "planner-cannot-approve", before)


async def test_an_approver_may_not_then_record_a_validation(release: Release) -> None:
    # A high risk needs two approvers, so the release stays open to validations after one.
    risk = {"likelihood": "high", "impact": "high"}
    assert (await release.call("PUT", "/risk", risk, "rita", "release-manager")).is_success
    approved = await release.approve("carl", "change-authority", "tester")
    assert approved.json()["approvals"] == ["carl"], approved.text
    before = await release.stored()
    result = {"kind": "security", "outcome": "passed", "evidence": "https://ci.example/sec"}
    answer = await release.call(
        "POST", "/validations", result, "carl", "change-authority", "tester"
    )
    await release.unchanged_after(answer, "tester-cannot-approve", before)


# --- deploy-svc: the deploy-to-production gate ------------------------------------------


@pytest.fixture
async def deploy(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient, DeploySettings]]:
    """A real dml-svc (to make releases available) and deploy-svc with a production
    environment of one local target; the DML client is a librarian's."""
    dml_settings = settings(
        DmlSettings, infra, topic_prefix, media_dir=tmp_path / "dml", scrub_interval_seconds=0
    )
    token = tmp_path / "deploy-svc.token"
    token.write_text(infra.issuer.mint("deploy-svc", ["deployer", "tester"]))
    async with serving(
        dml_spec(dml_settings), headers=infra.issuer.bearer("lib", "dml-librarian")
    ) as dml:
        deploy_settings = settings(
            DeploySettings,
            infra,
            topic_prefix,
            dml_url=str(dml.base_url).rstrip("/"),
            dml_token_file=token,
            work_dir=tmp_path / "work",
            drivers=["local"],
            local_roots=[tmp_path],
        )
        admin = infra.issuer.bearer("erin", "environment-admin", "deployer")
        async with serving(deploy_spec(deploy_settings), headers=admin) as client:
            target = {
                "name": "web-1",
                "driver": "local",
                "settings": {"path": str(tmp_path / "web-1")},
            }
            body = {"production": True, "targets": [target], "reason": "a place to deploy"}
            defined = await client.put("/environments/production", json=body)
            if defined.status_code == 202:  # a production environment is a proposal
                await approved(client, infra, defined)
            else:
                assert defined.status_code == 200, defined.text
            yield dml, client, deploy_settings


@pytest.mark.parametrize(("subject", "gate"), [("bob", "build"), ("tess", "validate")])
async def test_whoever_built_or_validated_may_not_deploy_to_production(
    deploy: tuple[httpx.AsyncClient, httpx.AsyncClient, DeploySettings],
    infra: Infra,
    topic_prefix: str,
    subject: str,
    gate: str,
) -> None:
    dml, client, deploy_settings = deploy
    # release-svc's events as it publishes them: bob built, tess validated, carl approved.
    release_id = await approved_release(infra, dml, f"{topic_prefix}release.events", "1.0.0")
    plan = {"release_id": str(release_id), "environment": "production"}

    async def answered() -> httpx.Response | None:
        answer = await client.post(
            "/deployments", json=plan, headers=infra.issuer.bearer(subject, "deployer")
        )
        learning = answer.status_code in (409, 422) and (
            "not available" in answer.text or "not heard" in answer.text
        )
        return None if learning else answer

    answer = await eventually(answered, what="deploy-svc to learn of the release")
    refused_by(answer, "one-gate-per-person")
    assert f"the {gate} gate" in answer.json()["detail"]
    assert (await client.get("/deployments", params={"release_id": str(release_id)})).json() == []
    where = "data->>'release_id' = $1"
    assert await stored_rows(infra, deploy_settings.db_schema, where, str(release_id)) == 0
    # Someone who filled no gate may deploy it.
    allowed = await client.post("/deployments", json=plan)
    assert allowed.status_code == 201, allowed.text
    assert await stored_rows(infra, deploy_settings.db_schema, where, str(release_id)) > 0
