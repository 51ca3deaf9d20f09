"""Who may say a release is ready for production (#17).

Attacks: a release manager confirming what operations must (the service desk briefed,
operations acceptance); a tester, a deployer or a viewer confirming anything; operations of
another team confirming for a payments release; naming another confirmer in the body; and
deploying to production while an item the approval named is open (deploy-svc's refusal is
tested in `tests/integration/test_deployments.py`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from release_svc.config import Settings
from release_svc.main import spec
from tests.integration.test_auth import PLAN
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import serving, settings

DESK = {"item": "service_desk_briefed", "evidence": "https://wiki/desk-brief"}


@pytest.fixture
async def api(infra: Infra, topic_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc with the payments and identity teams."""
    s = settings(Settings, infra, topic_prefix)
    async with serving(spec(s), headers=infra.issuer.bearer("vic", "viewer")) as client:
        ada = infra.issuer.bearer("ada", "ferry-admin")
        for team, service in (("payments", "payments-api"), ("identity", "login")):
            body = {"services": [service], "reason": f"the {team} team is formed"}
            await approved(
                client, infra, await client.put(f"/teams/{team}", json=body, headers=ada)
            )
        yield client


async def confirm(
    api: httpx.AsyncClient, infra: Infra, path: str, subject: str, role: str, body: dict[str, str]
) -> httpx.Response:
    etag = (await api.get(path)).headers["ETag"]
    headers = {**infra.issuer.bearer(subject, role), "If-Match": etag}
    return await api.post(path, json=body, headers=headers)


async def test_only_each_items_role_for_the_releases_teams_confirms_it(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    pam = infra.issuer.bearer("pam", "payments:release-manager")
    planned = await api.post("/releases", json={**PLAN, "team": "payments"}, headers=pam)
    assert planned.status_code == 201, planned.text
    path = f"{planned.headers['Location']}/readiness"

    for subject, role in (("pam", "payments:release-manager"), ("rita", "release-manager")):
        refused = await confirm(api, infra, path, subject, role, DESK)
        assert (refused.status_code, refused.json()["rule"]) == (403, "readiness-confirmer")
    for role in ("tester", "deployer", "viewer", "auditor"):
        assert (await confirm(api, infra, path, "tess", role, DESK)).status_code == 403
    elsewhere = await confirm(api, infra, path, "ivy", "identity:operations", DESK)
    assert (elsewhere.status_code, elsewhere.json()["rule"]) == (403, "team-scope")
    spoofed = await confirm(api, infra, path, "ivy", "identity:operations", {**DESK, "by": "olly"})
    assert spoofed.status_code == 422
    assert (await api.get(path)).json()["open"] == []  # nothing asked, nothing recorded
    assert all(i["confirmed_by"] is None for i in (await api.get(path)).json()["items"])

    ok = await confirm(api, infra, path, "olly", "payments:operations", DESK)
    assert ok.status_code == 200, ok.text
    docs = {"item": "documentation_published", "evidence": "https://docs/payments"}
    assert (await confirm(api, infra, path, "olly", "payments:operations", docs)).status_code == 403
    assert (
        await confirm(api, infra, path, "pam", "payments:release-manager", docs)
    ).status_code == 200
