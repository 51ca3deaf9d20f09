"""Roles held for a team reach only what the team owns (issue #21).

Attacks: a team's deployer defining (and so deploying to) another team's environment, or
one no team owns; a forged `TeamDefined` on release.events making its author a member of a
team that owns what they want. A member of a team, by subject or by identity-provider group
in the team's own table, acts for it as a token's `team:role` grant does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from els_svc.config import Settings as ElsSettings
from els_svc.main import spec as els_spec
from ferry.auth import Allow
from ferry.events.team import TeamDefined, TeamMember
from ferry.service import create_app
from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.integration.test_auth import SERVICES
from tests.integration.test_release_lifecycle import packaged_release
from tests.security.test_team_deployments import ROUTES as DEPLOYMENT_ROUTES
from tests.security.test_team_releases import ROUTES as RELEASE_MANAGERS_ROUTES
from tests.support.els import START, opened_case
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import eventually, publish, serving, settings
from tests.support.teams import teams_known

PAYMENTS = TeamDefined(
    team="payments",
    environments=["prod-payments"],
    members=[
        TeamMember(subject="tom", roles=["deployer"]),
        TeamMember(group="CN=Payments Deployers", roles=["deployer"]),
    ],
)
IDENTITY = TeamDefined(team="identity", environments=["prod-identity"])


@dataclass
class Deploy:
    infra: Infra
    api: httpx.AsyncClient
    settings: DeploySettings
    folder: Path

    def as_(self, subject: str, *roles: str) -> dict[str, str]:
        return self.infra.issuer.bearer(subject, *roles)

    async def define(self, environment: str, headers: dict[str, str]) -> httpx.Response:
        target = {
            "name": "web-1",
            "driver": "local",
            "settings": {"path": str(self.folder / environment / "web-1")},
        }
        body = {"production": False, "targets": [target]}
        path = f"/environments/{environment}"
        current = await self.api.get(path, headers=self.as_("reader", "viewer"))
        if current.status_code == 200:
            headers = {**headers, "If-Match": current.headers["ETag"]}
        return await self.api.put(path, json=body, headers=headers)

    async def teams_known(self) -> set[str]:
        return await teams_known(self.infra, self.settings.db_schema)

    async def rejected(self) -> list[str]:
        """The types of the events deploy-svc refused as not signed by their owner."""
        connection = await asyncpg.connect(
            self.infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
        )
        try:
            rows = await connection.fetch(
                f"SELECT data->>'type' AS type FROM \"{self.settings.db_schema}\".events "
                "WHERE type = 'ForeignEventRejected'"
            )
        finally:
            await connection.close()
        return [row["type"] for row in rows]


@pytest.fixture
async def deploy(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Deploy]:
    token = tmp_path / "deploy-svc.token"
    token.write_text(infra.issuer.mint("deploy-svc", ["deployer", "tester"]))
    deploy_settings = settings(
        DeploySettings,
        infra,
        topic_prefix,
        dml_url="http://127.0.0.1:9",
        dml_token_file=token,
        work_dir=tmp_path / "work",
        drivers=["local"],
        local_roots=[tmp_path],
    )
    async with serving(deploy_spec(deploy_settings)) as api:
        found = Deploy(infra, api, deploy_settings, tmp_path)
        await publish(infra, f"{topic_prefix}release.events", PAYMENTS, IDENTITY)

        async def both_known() -> bool:
            return await found.teams_known() >= {"payments", "identity"}

        await eventually(both_known, what="deploy-svc to learn the teams")
        yield found


async def test_a_teams_deployer_defines_only_the_teams_environments(deploy: Deploy) -> None:
    pam = deploy.as_("pam", "payments:deployer")
    refused = await deploy.define("prod-identity", pam)
    assert refused.status_code == 403, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "environment prod-identity belongs to team identity" in refused.json()["detail"]
    assert refused.json()["teams"] == ["identity"]

    nobodys = await deploy.define("shared-test", pam)
    assert nobodys.status_code == 403, nobodys.text
    assert "belongs to no team" in nobodys.json()["detail"]

    assert (await deploy.define("prod-payments", pam)).status_code == 200
    # A role held everywhere reaches every team's environment.
    assert (await deploy.define("prod-identity", deploy.as_("dora", "deployer"))).status_code == 200
    # Another role for the team is not the deployer's.
    tester = await deploy.define("prod-payments", deploy.as_("tess", "payments:tester"))
    assert tester.status_code == 403, tester.text


async def test_a_member_in_the_teams_table_acts_for_the_team(deploy: Deploy) -> None:
    # tom is a member by subject; gina by a group her token names, which no role map maps.
    for headers in (deploy.as_("tom", "viewer"), deploy.as_("gina", "CN=Payments Deployers")):
        assert (await deploy.define("prod-payments", headers)).status_code == 200
        refused = await deploy.define("prod-identity", headers)
        assert refused.status_code == 403, refused.text
        assert refused.json()["teams"] == ["identity"]
    # A member reads as any role does; a stranger with no role at all does not.
    assert (
        await deploy.api.get("/environments", headers=deploy.as_("gina", "CN=Payments Deployers"))
    ).status_code == 200
    assert (
        await deploy.api.get("/environments", headers=deploy.as_("x", "CN=Others"))
    ).status_code == 403


async def test_a_forged_team_definition_gives_no_one_a_team(
    deploy: Deploy, infra: Infra, topic_prefix: str
) -> None:
    forged = TeamDefined(
        team="eve-team",
        environments=["prod-identity-2"],
        members=[TeamMember(subject="eve", roles=["deployer"])],
    )
    await publish(infra, f"{topic_prefix}release.events", forged, signer=None)

    async def refused() -> list[str]:
        return await deploy.rejected()

    assert await eventually(refused, what="deploy-svc to refuse the forged TeamDefined")
    assert "eve-team" not in await deploy.teams_known()
    answer = await deploy.define("prod-identity-2", deploy.as_("eve", "viewer"))
    assert answer.status_code == 403, answer.text


async def payments_case(
    infra: Infra, els_settings: ElsSettings, els: httpx.AsyncClient
) -> dict[str, Any]:
    """A case of service "payments" in production, once els-svc knows payments owns that
    service (and identity, another team)."""
    owners = [TeamDefined(team="payments", services=["payments"]), IDENTITY]
    await publish(infra, els_settings.topic("release.events"), *owners)

    async def known() -> bool:
        return await teams_known(infra, els_settings.db_schema) >= {"payments", "identity"}

    await eventually(known, what="els-svc to learn the teams")
    return await opened_case(infra, els_settings, els)


async def test_a_teams_support_acts_only_on_cases_of_what_the_team_owns(
    infra: Infra, topic_prefix: str
) -> None:
    els_settings = settings(ElsSettings, infra, topic_prefix, evaluate_seconds=3600)
    dora = infra.issuer.bearer("dora", "deployer")
    async with serving(els_spec(els_settings), headers=dora) as els:
        case = await payments_case(infra, els_settings, els)
        path = f"/cases/{case['id']}"
        observation = {"metric": "desk_calls", "value": 3, "observed_at": START.isoformat()}

        ivy = infra.issuer.bearer("ivy", "identity:els-support")
        refused = await els.post(f"{path}/observations", json=observation, headers=ivy)
        assert refused.status_code == 403, refused.text
        assert refused.json()["teams"] == ["payments"]
        pat = infra.issuer.bearer("pat", "payments:els-support")
        assert (
            await els.post(f"{path}/observations", json=observation, headers=pat)
        ).status_code == 200
        # Feedback is anyone's, of any team.
        feedback = await els.post(f"{path}/feedback", json={"rating": 4}, headers=ivy)
        assert feedback.status_code == 200, feedback.text

        # The list shows a team's callers their teams' cases, unless they name another.
        async def listed(headers: dict[str, str], **params: str) -> list[str]:
            answer = await els.get("/cases", params=params, headers=headers)
            assert answer.status_code == 200, answer.text
            return [c["id"] for c in answer.json()]

        assert await listed(pat) == [case["id"]]
        assert await listed(ivy) == []
        assert await listed(ivy, team="payments") == [case["id"]]
        assert await listed(dora) == [case["id"]]


CASE_ROUTES: list[tuple[str, dict[str, Any]]] = [
    (
        "/criteria",
        {
            "side": "operations",
            "criteria": [{"metric": "desk_calls", "baseline": 10, "tolerance": 0.5}],
        },
    ),
    ("/criteria/agreement", {"side": "operations"}),
    ("/observations", {"metric": "desk_calls", "value": 3, "observed_at": START.isoformat()}),
    ("/incidents", {"reference": "INC-1"}),
    ("/tasks", {"title": "watch the queue", "assignee": "otto"}),
    ("/tasks/{task_id}/done", {}),
    ("/exit", {"override_reason": "quiet enough"}),
]
"""Every route changing a case but feedback (anyone's): each refused to identity's
operations, then let through to payments' (the case's own rules decide what then happens)."""


async def test_every_case_change_refuses_another_teams_operations(
    infra: Infra, topic_prefix: str
) -> None:
    els_settings = settings(ElsSettings, infra, topic_prefix, evaluate_seconds=3600)
    async with serving(els_spec(els_settings), headers=infra.issuer.bearer("v", "viewer")) as els:
        case = await payments_case(infra, els_settings, els)
        path = f"/cases/{case['id']}"
        ida = infra.issuer.bearer("ida", "identity:operations")
        pat = infra.issuer.bearer("pat", "payments:operations")
        for template, body in CASE_ROUTES:
            route = template.format(task_id=uuid4())
            etag = (await els.get(path)).headers["ETag"]
            refused = await els.post(f"{path}{route}", json=body, headers={**ida, "If-Match": etag})
            assert refused.status_code == 403, (route, refused.text)
            assert refused.json()["teams"] == ["payments"]
            allowed = await els.post(f"{path}{route}", json=body, headers={**pat, "If-Match": etag})
            # Past the team's check; the case's own rules may still refuse (the side that
            # proposed criteria does not agree to them too), never for the team.
            assert "teams" not in allowed.json(), (route, allowed.text)
        assert allowed.json()["state"] == "exited"


async def test_a_teams_tester_validates_only_releases_of_the_teams_services(
    infra: Infra, topic_prefix: str
) -> None:
    release_settings = settings(ReleaseSettings, infra, topic_prefix)
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(release_spec(release_settings), headers=rita) as api:
        team = {"services": ["payments-api"], "reason": "the payments team is formed"}
        ada = infra.issuer.bearer("ada", "ferry-admin")
        await approved(api, infra, await api.put("/teams/payments", json=team, headers=ada))
        built = await packaged_release(api, infra, release_settings)
        path = f"/releases/{built.json()['id']}"
        scope = {"items": [{"kind": "service", "name": "payments-api"}]}
        scoped = await api.put(
            f"{path}/scope", json=scope, headers={"If-Match": built.headers["ETag"]}
        )
        assert scoped.status_code == 200, scoped.text
        result = {"kind": "functional", "outcome": "passed", "evidence": "https://ci.example/f"}

        async def validate(role: str) -> httpx.Response:
            headers = {**infra.issuer.bearer("tess", role), "If-Match": scoped.headers["ETag"]}
            return await api.post(f"{path}/validations", json=result, headers=headers)

        refused = await validate("identity:tester")
        assert refused.status_code == 403, refused.text
        assert refused.json()["teams"] == ["payments"]
        assert (await validate("payments:tester")).status_code == 200


CHECKED = {
    ("deploy-svc", "PUT", "/environments/{name}"): "test_a_teams_deployer_defines_only_...",
    ("deploy-svc", "POST", "/deployments"): "test_plan_handler: plans only where the team owns",
    **{
        (
            "deploy-svc",
            "POST",
            f"/deployments/{{deployment_id}}{route.replace('/0/', '/{step}/')}",
        ): "test_team_deployments"
        for route, _ in DEPLOYMENT_ROUTES
    },
    **{
        ("els-svc", "POST", f"/cases/{{case_id}}{route}"): "test_every_case_change_refuses_..."
        for route, _ in CASE_ROUTES
    },
    ("els-svc", "POST", "/cases/{case_id}/feedback"): "open to every role: decides nothing",
    ("dml-svc", "POST", "/spares/{spare_id}/withdrawals"): "test_spares: withdraws only ...",
    ("release-svc", "POST", "/releases/{release_id}/validations"): "test_a_teams_tester_...",
    **{
        ("release-svc", method, f"/releases/{{release_id}}{route}"): "test_team_releases"
        for method, route, _ in RELEASE_MANAGERS_ROUTES
    },
    ("release-svc", "POST", "/releases"): "test_a_teams_release_manager_plans_only_for_...",
    ("release-svc", "POST", "/releases/{release_id}/readiness"): "test_readiness: ...its teams",
    **{
        ("release-svc", "PUT", f"/improvement-actions/{{action_id}}/{route}"): (
            "test_improvement_actions: another team's manager may not"
        )
        for route in ("state", "assignment")
    },
    ("release-svc", "POST", "/schedule/feed-tokens"): "a reader's own calendar feed: reads",
    ("release-svc", "POST", "/notifications/{notification_id}/read"): "the caller's own inbox",
    ("release-svc", "POST", "/notifications/{notification_id}/acknowledgement"): "own inbox",
    ("release-svc", "DELETE", "/schedule/feed-tokens/{token_id}"): "the reader's own, revoked",
}
"""Every route a role held for a team may call but to read, and where its team is checked:
a route made open to team roles without a check of the team fails the test below."""


def test_every_route_open_to_a_teams_role_is_one_that_checks_the_team(
    infra: Infra, topic_prefix: str
) -> None:
    found = set()
    for service, (make_spec, settings_class) in SERVICES.items():
        app = create_app(make_spec(settings(settings_class, infra, topic_prefix)))
        for route in iter_route_contexts(app.routes):
            dependant = getattr(route, "dependant", None)
            allow = _allow(dependant) if dependant is not None else None
            for method in sorted(route.methods or ()) if allow and allow.scoped else ():
                if method != "GET":
                    found.add((service, method, route.path))
    assert found == set(CHECKED)


def _allow(dependant: Dependant) -> Allow | None:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, Allow):
            return dependency.call
        if (found := _allow(dependency)) is not None:
            return found
    return None
