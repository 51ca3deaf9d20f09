"""A deployment whose window closes mid-way: no wave starts after it; the deployment waits
for a new window of its release, or a change authority's override; against a real dml-svc
and deploy-svc, PostgreSQL and Kafka."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ferry.events.release import DeploymentWindow, DeploymentWindowsSet
from tests.integration.test_deployments import Stack, define, stack
from tests.support.services import eventually, publish, read_topic

__all__ = ["stack"]  # the fixture, from the deployments' integration tests


async def set_window(stack: Stack, release_id: Any, start: datetime, end: datetime) -> None:
    """release-svc moves the release's production window (as a release manager would)."""
    window = DeploymentWindow(environment="production", start=start, end=end)
    await publish(
        stack.infra,
        stack.release_topic,
        DeploymentWindowsSet(release_id=release_id, windows=[window]),
    )


async def paused_outside_window(stack: Stack) -> tuple[Any, str]:
    """A canary deployment whose first wave soaks past the end of the window: the release's
    id and the deployment's path, once it waits."""
    await define(stack)
    now = datetime.now(UTC)
    release_id = await stack.release("1.0.0")
    planned = await stack.plan(
        release_id, strategy={"kind": "canary", "canary": 1, "soak_seconds": 3}
    )
    assert planned.status_code == 201, planned.text
    # The window closes while the canary soaks.
    await set_window(
        stack, release_id, now - timedelta(hours=1), datetime.now(UTC) + timedelta(seconds=1.5)
    )
    path = f"/deployments/{planned.json()['id']}"

    async def waiting() -> dict[str, Any] | None:
        body: dict[str, Any] = (await stack.deploy.get(path)).json()
        return body if body["awaiting_window"] else None

    paused = await eventually(waiting, timeout=30, what="the deployment to wait for a window")
    assert (paused["state"], paused["paused"], paused["verified_waves"]) == ("running", True, [0])
    assert stack.live("web-1") == "1.0.0"
    assert stack.live("web-2") is None  # the second wave did not start
    return release_id, path


async def completed(stack: Stack, path: str) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (await stack.deploy.get(path)).json()
        return body if body["state"] == "completed" else None

    return await eventually(done, timeout=60, what="the deployment to complete")


async def test_a_deployment_waits_for_its_next_window_and_goes_on_in_it(stack: Stack) -> None:
    release_id, path = await paused_outside_window(stack)
    listed = (await stack.deploy.get("/deployments", params={"release_id": str(release_id)})).json()
    assert listed[0]["awaiting_window"] is True
    refused = await stack.deploy.post(
        f"{path}/resume", headers={"If-Match": (await stack.deploy.get(path)).headers["ETag"]}
    )
    assert refused.status_code == 409, refused.text
    assert "waits for a new window" in refused.json()["detail"]

    # The release manager gives the release its next window: the deployment goes on.
    now = datetime.now(UTC)
    await set_window(stack, release_id, now - timedelta(minutes=1), now + timedelta(hours=1))
    done = await completed(stack, path)
    assert (done["awaiting_window"], done["window_overridden"]) == (False, False)
    assert {stack.live(t) for t in ("web-1", "web-2", "web-3", "web-4")} == {"1.0.0"}

    events = await read_topic(
        stack.infra.kafka, stack.deploy_settings.topic("deploy.events"), expect=12, settle=0.5
    )
    kinds = [e.type for e in events if e.data.get("deployment_id") == done["id"]]
    paused_at = kinds.index("DeploymentPausedOutsideWindow")
    assert kinds[paused_at - 1] == "WaveVerified"
    assert kinds[paused_at + 1] == "DeploymentResumed"
    [pause] = [e for e in events if e.type == "DeploymentPausedOutsideWindow"]
    assert pause.data["wave"] == 1
    assert pause.data["window_end"] is not None
    [resumed] = [e for e in events if e.type == "DeploymentResumed"]
    assert resumed.data["by"] == "service:deploy-svc"


async def test_a_change_authority_lets_it_run_on_outside_the_window(stack: Stack) -> None:
    _, path = await paused_outside_window(stack)
    etag = (await stack.deploy.get(path)).headers["ETag"]
    override = {"reason": "the outage review needs the fix tonight"}
    cora = stack.infra.issuer.bearer("cora", "change-authority")
    allowed = await stack.deploy.post(
        f"{path}/window-override", json=override, headers={**cora, "If-Match": etag}
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["window_overridden"] is True

    done = await completed(stack, path)
    assert done["awaiting_window"] is False
    events = await read_topic(
        stack.infra.kafka, stack.deploy_settings.topic("deploy.events"), expect=12, settle=0.5
    )
    [overridden] = [e for e in events if e.type == "DeploymentWindowOverridden"]
    assert (overridden.actor, overridden.data["by"]) == ("cora", "cora")
    assert overridden.data["reason"] == override["reason"]
    assert [e.type for e in events].count("DeploymentPausedOutsideWindow") == 1
