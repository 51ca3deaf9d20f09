"""A release's scope is what its approval covered.

Attack: once a release is approved, its manager changes the scope: adding another team's
service (that team never agreed, and its deployers may then deploy the release) or taking a
service out (a freeze on that service no longer holds the deployment back). Both are
refused, as a package change is, and the scope stays as approved.
"""

from __future__ import annotations

from release_svc.config import Settings as ReleaseSettings
from release_svc.main import spec as release_spec
from tests.integration.test_release_lifecycle import approve, packaged_release, validated
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import serving, settings

PAYMENTS = [{"kind": "service", "name": "payments-api"}]


async def test_an_approved_scope_cannot_be_widened_or_narrowed(
    infra: Infra, topic_prefix: str
) -> None:
    release_settings = settings(ReleaseSettings, infra, topic_prefix)
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(release_spec(release_settings), headers=rita) as api:
        ada = infra.issuer.bearer("ada", "ferry-admin")
        for team, service in (("payments", "payments-api"), ("identity", "login")):
            body = {"services": [service], "reason": f"the {team} team is formed"}
            await approved(api, infra, await api.put(f"/teams/{team}", json=body, headers=ada))
        built = await packaged_release(api, infra, release_settings)
        path = f"/releases/{built.json()['id']}"
        scoped = await api.put(
            f"{path}/scope", json={"items": PAYMENTS}, headers={"If-Match": built.headers["ETag"]}
        )
        assert scoped.status_code == 200, scoped.text
        etag = await validated(api, infra, path, scoped.headers["ETag"])
        approval = await approve(api, infra, path, etag, "carl")
        assert approval.json()["status"] == "approved", approval.text

        wider = [*PAYMENTS, {"kind": "service", "name": "login"}]
        for items in (wider, []):
            changed = await api.put(
                f"{path}/scope",
                json={"items": items},
                headers={"If-Match": approval.headers["ETag"]},
            )
            assert changed.status_code == 409, changed.text
            assert changed.headers["Content-Type"] == "application/problem+json"
            assert "approved" in changed.json()["detail"]
        after = await api.get(path)
        assert [item["name"] for item in after.json()["scope"]] == ["payments-api"]
        assert after.headers["ETag"] == approval.headers["ETag"]
