"""deploy-svc's kubernetes driver against a real API server: the Deployment controller rolls
each change out (kwok's fake kubelets report the pods), the driver follows it, puts back a
rollout that never becomes ready, and refuses what the operator's limits forbid before it
calls the cluster at all."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from deploy_svc.drivers.base import DriverError
from deploy_svc.drivers.kubernetes import KubernetesDriver
from deploy_svc.drivers.limits import KubernetesLimits
from tests.kubernetes.workloads import (
    PAUSE,
    create_deployment,
    image_of,
    resource_version,
    rolled_out,
)
from tests.support.drivers import job_for


def target(namespace: str, name: str, **more: object) -> dict[str, object]:
    return {
        "namespace": namespace,
        "deployment": name,
        "container": "app",
        "image": f"{PAUSE}:{{version}}",
        "rollout_timeout_seconds": 90,
        **more,
    }


def driver_for(*namespaces: str, own: frozenset[str] = frozenset()) -> KubernetesDriver:
    return KubernetesDriver(
        KubernetesLimits(namespaces=namespaces, image_prefixes=(f"{PAUSE}:",), own_namespaces=own)
    )


async def test_an_image_rolls_out_through_the_controllers_and_back(
    api: Any, new_namespace: Any, tmp_path: Path
) -> None:
    namespace = new_namespace()
    await create_deployment(api, namespace, "shop", "3.9")
    driver = driver_for(namespace)
    job = job_for(tmp_path, "3.10", {}, **target(namespace, "shop"))

    assert await driver.install(job) == "3.9"
    # The driver returned once the controllers report the rollout done: every pod is new.
    await rolled_out(api, namespace, "shop", "3.10", timeout=5)
    assert await driver.install(job) == "3.9"  # repeated (a crash mid-step): the same answer
    await driver.verify(job)
    assert await driver.live(job.settings) == "3.10"

    await driver.roll_back(job, "3.9")
    await rolled_out(api, namespace, "shop", "3.9", timeout=5)
    assert await driver.live(job.settings) == "3.9"


async def test_verify_fails_while_the_rollout_is_not_ready(
    api: Any, new_namespace: Any, tmp_path: Path
) -> None:
    namespace = new_namespace()
    await create_deployment(api, namespace, "shop", "3.9")
    job = job_for(tmp_path, "3.10", {}, **target(namespace, "shop"))
    # Installed by someone else, then verified: the Deployment runs 3.9, not 3.10.
    with pytest.raises(DriverError, match=r"now runs \S+:3\.9, not \S+:3\.10"):
        await driver_for(namespace).verify(job)


async def test_a_rollout_that_never_becomes_ready_is_put_back(
    api: Any, new_namespace: Any, tmp_path: Path
) -> None:
    namespace = new_namespace()
    # The controller gives up on a rollout after 5 s without progress; 3.10 is never ready.
    await create_deployment(
        api, namespace, "shop", "3.9", progress_deadline_seconds=5, never_ready="3.10"
    )
    driver = driver_for(namespace)
    job = job_for(tmp_path, "3.10", {}, **target(namespace, "shop"))

    with pytest.raises(DriverError, match="did not progress"):
        await driver.install(job)

    # Put back before the failure was reported: the old pods serve again, the new are gone.
    assert await image_of(api, namespace, "shop") == f"{PAUSE}:3.9"
    await rolled_out(api, namespace, "shop", "3.9")
    assert await driver.live(job.settings) == "3.9"


async def test_a_rollout_past_the_drivers_timeout_is_put_back(
    api: Any, new_namespace: Any, tmp_path: Path
) -> None:
    namespace = new_namespace()
    await create_deployment(api, namespace, "shop", "3.9", never_ready="3.10")
    job = job_for(tmp_path, "3.10", {}, **target(namespace, "shop", rollout_timeout_seconds=4))

    with pytest.raises(DriverError, match=r"did not roll out within 4s: 1 of 2 updated"):
        await driver_for(namespace).install(job)
    await rolled_out(api, namespace, "shop", "3.9")


async def test_the_operators_limits_refuse_before_the_cluster_is_called(
    api: Any, new_namespace: Any, tmp_path: Path
) -> None:
    allowed, other, ferry = new_namespace(), new_namespace(), new_namespace()
    for namespace in (allowed, other):
        await create_deployment(api, namespace, "shop", "3.9", replicas=1)
    await create_deployment(api, ferry, "dml-svc", "3.9", replicas=1)
    # The administrator's kubeconfig: the cluster would allow all of it; the limits do not.
    driver = driver_for(allowed, ferry, own=frozenset({ferry}))
    refused = {
        "a namespace not listed": target(other, "shop"),
        "an image elsewhere": target(allowed, "shop", image="evil.example/shop:{version}"),
        "Ferry's own namespace": target(ferry, "dml-svc"),
    }
    for why, settings in refused.items():
        namespace, name = str(settings["namespace"]), str(settings["deployment"])
        before = await resource_version(api, namespace, name)
        job = job_for(tmp_path / uuid.uuid4().hex, "4.0", {}, **settings)
        with pytest.raises(DriverError, match="no longer allowed"):
            await driver.install(job)
        with pytest.raises(DriverError, match="no longer allowed"):
            await driver.roll_back(job, "3.9")
        assert await resource_version(api, namespace, name) == before, why
        assert await image_of(api, namespace, name) == f"{PAUSE}:3.9", why
