"""Deployments through deploy-svc to Deployments on a real API server: a real dml-svc and
deploy-svc, PostgreSQL and Kafka, and the kubernetes driver. A wave whose rollout never
becomes ready fails, and deploy-svc rolls back every target it had switched; a change made
behind Ferry's back is reported as drift."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client

from tests.integration.test_deployments import Stack, deploy_stack
from tests.kubernetes.workloads import PAUSE, create_deployment, image_of, rolled_out
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.services import eventually, read_topic

WEB = ["web-1", "web-2", "web-3"]


@pytest.fixture
async def namespace(api: Any, new_namespace: Any) -> str:
    """Three Deployments at 1.0.0; web-3's pods will never be Ready running 2.0.0."""
    name: str = new_namespace()
    for web in WEB:
        never_ready = "2.0.0" if web == "web-3" else None
        await create_deployment(
            api,
            name,
            web,
            "1.0.0",
            replicas=1,
            progress_deadline_seconds=5,
            never_ready=never_ready,
        )
    return name


@pytest.fixture
async def stack(
    infra: Infra, topic_prefix: str, tmp_path: Path, namespace: str
) -> AsyncIterator[Stack]:
    limits = {
        "drivers": ["kubernetes"],
        "k8s_namespaces": [namespace],
        "k8s_image_prefixes": [f"{PAUSE}:"],
        "drift_seconds": 0.5,
    }
    async with deploy_stack(infra, topic_prefix, tmp_path, **limits) as found:
        targets = [
            {
                "name": web,
                "driver": "kubernetes",
                "settings": {
                    "namespace": namespace,
                    "deployment": web,
                    "container": "app",
                    "image": f"{PAUSE}:{{version}}",
                    "rollout_timeout_seconds": 60,
                },
            }
            for web in WEB
        ]
        proposed = await found.deploy.put(
            "/environments/production",
            json={"production": True, "targets": targets, "reason": "the web tier"},
        )
        await approved(found.deploy, infra, proposed)
        yield found


async def test_a_wave_that_never_becomes_ready_rolls_every_target_back(
    stack: Stack, api: Any, namespace: str
) -> None:
    first = await stack.plan(await stack.release("1.0.0"))
    assert first.status_code == 201, first.text
    assert (await stack.finished(first.json()["id"]))["state"] == "completed"

    second = await stack.plan(
        await stack.release("2.0.0"), strategy={"kind": "phased", "sizes": [2]}
    )
    assert second.status_code == 201, second.text
    assert [w["targets"] for w in second.json()["waves"]] == [["web-1", "web-2"], ["web-3"]]
    done = await stack.finished(second.json()["id"])

    assert done["state"] == "rolled_back", done
    assert "web-3" in done["failed"]
    for web in WEB:
        assert await image_of(api, namespace, web) == f"{PAUSE}:1.0.0", web
        await rolled_out(api, namespace, web, "1.0.0")
    events = await read_topic(
        stack.infra.kafka, stack.deploy_settings.topic("deploy.events"), expect=1, settle=0.5
    )
    mine = [e for e in events if e.data.get("deployment_id") == second.json()["id"]]
    deployed = {e.data["target"] for e in mine if e.type == "TargetDeployed"}
    rolled_back = {e.data["target"] for e in mine if e.type == "TargetRolledBack"}
    assert deployed == {"web-1", "web-2"}
    assert rolled_back >= {"web-1", "web-2"}
    assert mine[-1].type == "DeploymentRolledBack"


async def test_an_image_changed_behind_ferrys_back_is_reported(
    stack: Stack, api: Any, namespace: str
) -> None:
    first = await stack.plan(await stack.release("1.0.0"))
    assert (await stack.finished(first.json()["id"]))["state"] == "completed"

    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "app", "image": f"{PAUSE}:9.9"}]}}}
    }
    await client.AppsV1Api(api).patch_namespaced_deployment("web-2", namespace, patch)

    async def reported() -> list[dict[str, Any]] | None:
        found = await stack.deploy.get("/unauthorised-changes", params={"open": "true"})
        assert found.status_code == 200, found.text
        changes: list[dict[str, Any]] = found.json()
        return changes or None

    changes = await eventually(reported, what="deploy-svc to see the change")
    assert [(c["target"], c["found"]) for c in changes] == [("web-2", "9.9")], changes
