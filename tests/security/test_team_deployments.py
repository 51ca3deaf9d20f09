"""A deployer held for a team acts only on deployments to the team's environments (#21).

Attack: identity's deployer pausing, resuming, rolling back, confirming a backout step of or
aborting a deployment to payments' production, through each route that acts on a deployment.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ferry.events.team import TeamDefined
from tests.integration.test_deployments import Stack, define, stack
from tests.support.services import eventually, publish
from tests.support.teams import teams_known

__all__ = ["stack"]  # the fixture, from the deployments' integration tests

ROUTES: list[tuple[str, dict[str, Any]]] = [
    ("/pause", {}),
    ("/resume", {}),
    ("/rollback", {"reason": "errors"}),
    ("/backout/0/confirm", {"note": "done by hand"}),
    ("/abort", {"reason": "called off"}),
]
"""Every route acting on a deployment; each refused to identity's deployer, then let
through to payments' (the deployment's own state decides what then happens)."""


async def test_every_deployment_action_refuses_another_teams_deployer(stack: Stack) -> None:
    owners = [
        TeamDefined(team="payments", environments=["production"]),
        TeamDefined(team="identity", environments=["prod-identity"]),
    ]
    await publish(stack.infra, stack.release_topic, *owners)

    async def known() -> bool:
        return await teams_known(stack.infra, stack.deploy_settings.db_schema) >= {"payments"}

    await eventually(known, what="deploy-svc to learn the teams")
    await define(stack)
    release_id = await stack.release("1.0.0")
    later = datetime.now(UTC) + timedelta(minutes=30)
    planned = await stack.plan(release_id, scheduled_start=later.isoformat())
    assert planned.status_code == 201, planned.text
    path = f"/deployments/{planned.json()['id']}"
    ivan = stack.infra.issuer.bearer("ivan", "identity:deployer")
    pat = stack.infra.issuer.bearer("pat", "payments:deployer")
    for route, body in ROUTES:
        etag = (await stack.deploy.get(path)).headers["ETag"]
        refused = await stack.deploy.post(
            f"{path}{route}", json=body, headers={**ivan, "If-Match": etag}
        )
        assert refused.status_code == 403, (route, refused.text)
        assert refused.json()["teams"] == ["payments"]
        allowed = await stack.deploy.post(
            f"{path}{route}", json=body, headers={**pat, "If-Match": etag}
        )
        assert allowed.status_code != 403, (route, allowed.text)
    assert allowed.json()["state"] == "aborted"
