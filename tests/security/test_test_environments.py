"""Test environments take a release's staged media before approval, fetched by deploy-svc
as itself; the library's and release-svc's team scopes must hold all the same.

Attacks: a tester deploying to staging (which takes only what the DML made available); a
tester of another team deploying a release's staged media into their own test environment,
or recording a validation of it by deploying it; a deployer recording a validation.
"""

from __future__ import annotations

import httpx

from ferry.events.team import TeamDefined
from tests.integration.test_deployments import Stack, stack
from tests.integration.test_environment_classes import define
from tests.support.published import built_release
from tests.support.services import eventually, publish
from tests.support.teams import teams_known

__all__ = ["stack"]  # the fixture, from the deployments' integration tests


async def test_team_scopes_hold_for_staged_media_and_validations(stack: Stack) -> None:
    teams = [
        TeamDefined(team="payments", services=["payments"], environments=["qa"]),
        TeamDefined(team="identity", services=["login"], environments=["qa-identity"]),
    ]
    await publish(stack.infra, stack.release_topic, *teams)

    async def known() -> bool:
        found = await teams_known(stack.infra, stack.deploy_settings.db_schema)
        return found >= {"payments", "identity"}

    await eventually(known, what="deploy-svc to learn the teams")
    for name, kind in (("qa", "test"), ("qa-identity", "test"), ("stage", "staging")):
        assert (await define(stack, name, kind)).status_code == 200
    release_id, _ = await built_release(stack.infra, stack.dml, stack.release_topic, "3.0.0")
    issuer = stack.infra.issuer

    async def plan(environment: str, headers: dict[str, str], **extra: str) -> httpx.Response:
        body = {"release_id": str(release_id), "environment": environment, **extra}
        return await stack.deploy.post("/deployments", json=body, headers=headers)

    ian = issuer.bearer("ian", "identity:tester")

    async def taken() -> httpx.Response | None:
        answer = await plan("qa-identity", ian)
        return None if "no package built" in answer.text or "not heard" in answer.text else answer

    refused = await eventually(taken, what="deploy-svc to learn of the package")
    assert refused.status_code == 403, refused.text
    assert refused.json()["teams"] == ["payments"]
    tess = issuer.bearer("tess", "tester")
    assert (await plan("stage", tess)).status_code == 403
    validating = await plan("qa-identity", ian, validation="functional")
    assert validating.status_code == 403, validating.text
    dora = issuer.bearer("dora", "deployer")
    assert (await plan("qa", dora, validation="functional")).status_code == 403
    ivy = issuer.bearer("ivy", "payments:tester")
    allowed = await plan("qa", ivy, validation="functional")
    assert allowed.status_code == 201, allowed.text
