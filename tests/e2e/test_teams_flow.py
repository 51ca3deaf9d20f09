"""Two teams and the change authority they share, the four services as separate processes
(issue #21): payments' deployer reaches payments' environment and not identity's; a
release changing services of both is approved only once each team's release manager has
agreed; an auditor sees every team's releases, a team's member its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import eventually

TEAMS: dict[str, dict[str, Any]] = {
    "payments": {
        "services": ["payments-api"],
        "environments": ["prod-payments"],
        "members": [
            {"subject": "pam", "roles": ["deployer"]},
            {"subject": "paula", "roles": ["release-manager"]},
        ],
    },
    "identity": {
        "services": ["login"],
        "environments": ["prod-identity"],
        "members": [
            {"subject": "ivan", "roles": ["deployer"]},
            {"subject": "ida", "roles": ["release-manager"]},
        ],
    },
}
PLAN = {"version": "1.0", "planned_start": "2027-02-01", "planned_end": "2027-02-20"}


@pytest.fixture
async def client(stack: dict[str, str], infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the running stack, once the two teams are in force everywhere."""
    async with httpx.AsyncClient(timeout=10) as c:
        for name, url in stack.items():

            async def ready(url: str = url) -> bool:
                try:
                    return (await c.get(f"{url}/readyz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(ready, timeout=60, what=f"{name}-svc ready")
        ada = infra.issuer.bearer("ada", "ferry-admin")
        for team, owned in TEAMS.items():
            body = {**owned, "reason": f"the {team} team"}
            proposed = await c.put(f"{stack['release']}/teams/{team}", json=body, headers=ada)
            await approved(c, infra, proposed, approver="carl")
        yield c


def who(infra: Infra, subject: str, *roles: str) -> dict[str, str]:
    return infra.issuer.bearer(subject, *roles)


def refused_for(answer: httpx.Response, team: str) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["teams"] == [team]


@pytest.mark.timeout(240)
async def test_two_teams_share_a_change_authority_and_keep_to_their_own(
    stack: dict[str, str], client: httpx.AsyncClient, infra: Infra, tmp_path: Path
) -> None:
    release, dml, deploy = stack["release"], stack["dml"], stack["deploy"]
    # pam's and the others' tokens hold no role: their teams' tables make them what they are.
    pam, ivan = who(infra, "pam"), who(infra, "ivan")

    def environment(name: str) -> dict[str, Any]:
        target = {"name": "web-1", "driver": "local", "settings": {"path": str(tmp_path / name)}}
        return {"production": False, "targets": [target]}

    async def defined_by_pam() -> httpx.Response | None:
        answer = await client.put(
            f"{deploy}/environments/prod-payments", json=environment("pay"), headers=pam
        )
        return answer if answer.status_code == 200 else None

    await eventually(defined_by_pam, what="deploy-svc to learn the teams")
    refused_for(
        await client.put(
            f"{deploy}/environments/prod-identity", json=environment("id"), headers=pam
        ),
        "identity",
    )
    ours = await client.put(
        f"{deploy}/environments/prod-identity", json=environment("id"), headers=ivan
    )
    assert ours.status_code == 200, ours.text
    plan = {"release_id": "00000000-0000-4000-8000-000000000000", "environment": "prod-identity"}
    refused_for(await client.post(f"{deploy}/deployments", json=plan, headers=pam), "identity")

    # A release changing a service of each team, planned by a release manager of every team.
    rita = who(infra, "rita", "release-manager")
    created = await client.post(
        f"{release}/releases", json={**PLAN, "name": "Checkout and sign-in"}, headers=rita
    )
    path, etag = created.headers["Location"], created.headers["ETag"]
    path = f"{release}{path}"
    both = [{"kind": "service", "name": "payments-api"}, {"kind": "service", "name": "login"}]
    for part, body in [
        ("scope", {"items": both}),
        ("backout-plan", {"trigger_conditions": ["errors"], "steps": ["switch back"]}),
        ("risk", {"likelihood": "low", "impact": "low"}),
    ]:
        answer = await client.put(f"{path}/{part}", json=body, headers={**rita, "If-Match": etag})
        assert answer.status_code == 200, answer.text
        etag = answer.headers["ETag"]
    staged = await client.put(
        f"{dml}/media/checkout.tar.gz/1.0",
        content=b"checkout 1.0\n",
        params={"service": "payments-api"},
        headers={**who(infra, "lib", "dml-librarian"), "Content-Type": "application/gzip"},
    )
    media = {k: staged.json()[k] for k in ("name", "version", "sha256")}

    async def packaged() -> httpx.Response | None:
        answer = await client.put(
            f"{path}/package", json={"media": [media]}, headers={**rita, "If-Match": etag}
        )
        return answer if answer.status_code == 200 else None

    etag = (await eventually(packaged, what="the media to be known")).headers["ETag"]
    tess = who(infra, "tess", "tester")
    for kind in ("functional", "integration"):
        evidence = {"kind": kind, "outcome": "passed", "evidence": "https://ci.example/r"}
        answer = await client.post(
            f"{path}/validations", json=evidence, headers={**tess, "If-Match": etag}
        )
        assert answer.status_code == 200, answer.text
        etag = answer.headers["ETag"]

    carl = who(infra, "carl", "change-authority")

    async def approve() -> httpx.Response:
        return await client.post(
            f"{path}/approvals", json={"rfc": "RFC-77"}, headers={**carl, "If-Match": etag}
        )

    waiting = await approve()
    assert waiting.status_code == 422, waiting.text
    assert "identity, payments not agreed yet" in waiting.text
    for manager, team in (("paula", "payments"), ("ida", "identity")):
        agreed = await client.post(
            f"{path}/team-agreements",
            json={"team": team},
            headers={**who(infra, manager), "If-Match": etag},
        )
        assert agreed.status_code == 200, agreed.text
        etag = agreed.headers["ETag"]
    done = await approve()
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "approved"
    assert done.json()["team_agreements"] == {"identity": "ida", "payments": "paula"}

    # Each team's own release, planned by its manager.
    for manager in ("paula", "ida"):
        mine = await client.post(
            f"{release}/releases",
            json={**PLAN, "name": f"{manager}'s"},
            headers=who(infra, manager),
        )
        assert mine.status_code == 201, mine.text

    async def listed(headers: dict[str, str]) -> dict[str, list[str]]:
        answer = await client.get(f"{release}/releases", headers=headers)
        assert answer.status_code == 200, answer.text
        return {r["name"]: r["teams"] for r in answer.json()["items"]}

    everyone = {
        "Checkout and sign-in": ["identity", "payments"],
        "paula's": ["payments"],
        "ida's": ["identity"],
    }
    assert await listed(who(infra, "audrey", "auditor")) == everyone
    assert await listed(pam) == {k: v for k, v in everyone.items() if "payments" in v}
