"""A deployment paused because its window closed goes on only in a new window of its
release, or by a change authority's recorded override.

Attacks: the deployer resuming it as if it were an ordinary pause; a deployer (of the
environment's team or not) overriding the window; the person who asked for the deployment
overriding it with a change authority role of their own.
"""

from __future__ import annotations

from ferry.events.team import TeamDefined
from tests.integration.test_deployment_windows import paused_outside_window
from tests.integration.test_deployments import Stack, stack
from tests.support.services import eventually, publish
from tests.support.teams import teams_known

__all__ = ["stack"]  # the fixture, from the deployments' integration tests

REASON = {"reason": "we would rather not wait"}


async def test_only_another_change_authority_of_the_team_lets_it_run_outside_its_window(
    stack: Stack,
) -> None:
    owners = [
        TeamDefined(team="payments", environments=["production"]),
        TeamDefined(team="identity", environments=["prod-identity"]),
    ]
    await publish(stack.infra, stack.release_topic, *owners)

    async def known() -> bool:
        return await teams_known(stack.infra, stack.deploy_settings.db_schema) >= {"payments"}

    await eventually(known, what="deploy-svc to learn the teams")
    _, path = await paused_outside_window(stack)
    etag = (await stack.deploy.get(path)).headers["ETag"]
    issuer = stack.infra.issuer

    async def override(*roles: str, subject: str) -> int:
        headers = {**issuer.bearer(subject, *roles), "If-Match": etag}
        answer = await stack.deploy.post(f"{path}/window-override", json=REASON, headers=headers)
        return answer.status_code

    resumed = await stack.deploy.post(f"{path}/resume", headers={"If-Match": etag})
    assert resumed.status_code == 409, resumed.text
    assert await override("deployer", subject="pat") == 403
    own = await stack.deploy.post(
        f"{path}/window-override",
        json=REASON,
        headers={**issuer.bearer("dora", "deployer", "change-authority"), "If-Match": etag},
    )
    assert own.status_code == 403, own.text
    assert own.json()["rule"] == "window-override-by-another"
    assert await override("payments:deployer", subject="pat") == 403
    body = (await stack.deploy.get(path)).json()
    assert (body["awaiting_window"], body["window_overridden"]) == (True, False)
    allowed = await stack.deploy.post(
        f"{path}/window-override",
        json=REASON,
        headers={**issuer.bearer("cora", "change-authority"), "If-Match": etag},
    )
    assert allowed.status_code == 200, allowed.text
