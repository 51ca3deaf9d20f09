"""An environment's class decides what may be deployed there: development and test take
unapproved (staged) media. So a class is governed like production itself.

Attacks: a deployer reclassifying production as a test environment, to deploy an unapproved
package there; a deployer defining a test environment whose target is production's, to reach
production through it.
"""

from __future__ import annotations

from tests.integration.test_deployments import Stack, define, stack

__all__ = ["stack"]  # the fixture, from the deployments' integration tests


async def test_production_cannot_become_a_test_environment_by_one_persons_hand(
    stack: Stack,
) -> None:
    await define(stack)  # production, approved by a change authority
    current = await stack.deploy.get("/environments/production")
    body = {"class": "test", "targets": current.json()["targets"], "reason": "quicker tests"}
    demoted = await stack.deploy.put(
        "/environments/production", json=body, headers={"If-Match": current.headers["ETag"]}
    )
    assert demoted.status_code == 202, demoted.text  # only a proposal
    after = await stack.deploy.get("/environments/production")
    assert (after.json()["class"], after.headers["ETag"]) == ("production", current.headers["ETag"])

    web_1 = current.json()["targets"][0]
    back_door = {"class": "test", "targets": [{**web_1, "name": "qa-1"}], "reason": ""}
    refused = await stack.deploy.put("/environments/qa", json=back_door)
    assert refused.status_code == 422, refused.text
    assert (await stack.deploy.get("/environments/qa")).status_code == 404
