"""Environment classes: a test environment takes a release as soon as its package is built
(its staged media), deployed by a tester, whose verification there becomes a validation of
the package; staging and production take only what the DML made available. Against a real
dml-svc and deploy-svc, PostgreSQL and Kafka."""

from __future__ import annotations

from typing import Any

import httpx

from tests.integration.test_deployments import Stack, stack
from tests.support.published import built_release
from tests.support.services import eventually, read_topic

__all__ = ["stack"]  # the fixture, from the deployments' integration tests


async def define(stack: Stack, name: str, kind: str, **headers: str) -> httpx.Response:
    target = {"name": f"{name}-1", "driver": "local", "settings": {"path": str(stack.root / name)}}
    body = {"class": kind, "targets": [target], "reason": f"the {kind} environment"}
    return await stack.deploy.put(f"/environments/{name}", json=body, headers=headers)


async def test_a_tester_deploys_a_built_package_to_test_and_it_validates_it(stack: Stack) -> None:
    defined = await define(stack, "qa", "test")
    assert defined.status_code == 200, defined.text  # no second person for a test environment
    assert (defined.json()["class"], defined.json()["production"]) == ("test", False)
    release_id, _ = await built_release(stack.infra, stack.dml, stack.release_topic, "2.0.0")
    tess = stack.infra.issuer.bearer("tess", "tester")
    plan = {"release_id": str(release_id), "environment": "qa", "validation": "integration"}

    async def planned() -> httpx.Response | None:
        answer = await stack.deploy.post("/deployments", json=plan, headers=tess)
        return None if "no package built" in answer.text or "not heard" in answer.text else answer

    answer = await eventually(planned, what="deploy-svc to learn of the package")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["environment_class"], answer.json()["package_revision"]) == ("test", 1)

    async def done() -> dict[str, Any] | None:
        body: dict[str, Any] = (
            await stack.deploy.get(f"/deployments/{answer.json()['id']}")
        ).json()
        return body if body["state"] == "completed" else None

    await eventually(done, timeout=60, what="the test deployment to complete")
    assert stack.live("qa") == "2.0.0"  # the staged media, before any approval
    events = await read_topic(
        stack.infra.kafka, stack.deploy_settings.topic("deploy.events"), expect=7, settle=0.5
    )
    [completed] = [e for e in events if e.type == "DeploymentCompleted"]
    assert completed.data["environment_class"] == "test"
    assert completed.data["validates"] == {
        "kind": "integration",
        "package_revision": 1,
        "tester": "tess",
    }


async def test_staging_takes_only_what_the_dml_made_available_and_no_tester_deploys_there(
    stack: Stack,
) -> None:
    assert (await define(stack, "stage", "staging")).status_code == 200
    release_id, _ = await built_release(stack.infra, stack.dml, stack.release_topic, "2.1.0")
    plan = {"release_id": str(release_id), "environment": "stage"}

    async def refused() -> httpx.Response | None:
        answer = await stack.deploy.post("/deployments", json=plan)
        return answer if "not available" in answer.text else None

    answer = await eventually(refused, what="deploy-svc to learn of the release")
    assert answer.status_code == 409
    assert "staging environment" in answer.json()["detail"]
    tess = stack.infra.issuer.bearer("tess", "tester")
    by_tester = await stack.deploy.post("/deployments", json=plan, headers=tess)
    assert by_tester.status_code == 403, by_tester.text
    assert "testers deploy to development and test environments" in by_tester.json()["detail"]
    validating = await stack.deploy.post("/deployments", json={**plan, "validation": "functional"})
    assert validating.status_code == 422, validating.text
    assert validating.json()["errors"][0]["field"] == "validation"


async def test_changing_an_environments_class_takes_a_second_person(stack: Stack) -> None:
    defined = await define(stack, "qa", "test")
    again = await define(stack, "qa", "staging", **{"If-Match": defined.headers["ETag"]})
    assert again.status_code == 202, again.text  # a proposal, for a change authority
    shown = (await stack.deploy.get("/environments/qa")).json()
    assert shown["class"] == "test"
    contradicting = await stack.deploy.put(
        "/environments/other",
        json={"class": "test", "production": True, "targets": [], "reason": ""},
    )
    assert contradicting.status_code == 422
