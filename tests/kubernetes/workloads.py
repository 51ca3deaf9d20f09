"""Deployments for the kubernetes driver's tests, made and watched as the administrator."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kubernetes_asyncio import client

PAUSE = "registry.k8s.io/pause"
"""The image the test Deployments run, at any tag: kwok pulls nothing."""

NEVER_READY = "ferry.test/never-ready-image"
"""A pod annotation: the pod never becomes Ready while it runs this image (kwok's stages,
deploy/local/kube/stages.yaml), as if its readiness probe always failed."""


async def create_deployment(
    api: Any,
    namespace: str,
    name: str,
    tag: str,
    *,
    replicas: int = 2,
    progress_deadline_seconds: int = 600,
    never_ready: str | None = None,
) -> None:
    """A Deployment of `replicas` pods running `PAUSE:tag`, once it has rolled out; its pods
    will never be Ready running `PAUSE:never_ready`."""
    labels = {"app": name}
    annotations = {NEVER_READY: f"{PAUSE}:{never_ready}"} if never_ready else {}
    # The client sends a dict as it is, though its annotations ask for a V1Deployment.
    await client.AppsV1Api(api).create_namespaced_deployment(
        namespace,
        {  # type: ignore[arg-type]
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "progressDeadlineSeconds": progress_deadline_seconds,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels, "annotations": annotations},
                    "spec": {"containers": [{"name": "app", "image": f"{PAUSE}:{tag}"}]},
                },
            },
        },
    )
    await rolled_out(api, namespace, name, tag)


async def rolled_out(api: Any, namespace: str, name: str, tag: str, timeout: float = 60) -> None:
    """Wait until every pod of the Deployment runs `PAUSE:tag` and is Ready, as the
    controllers and the (fake) kubelets report it; fail saying what was seen."""
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        deployment = await client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
        pods = await client.CoreV1Api(api).list_namespaced_pod(
            namespace, label_selector=f"app={name}"
        )
        alive = [p for p in pods.items if p.metadata.deletion_timestamp is None]
        images = sorted(p.spec.containers[0].image for p in alive)
        ready = [p for p in alive if _ready(p)]
        wanted = deployment.spec.replicas
        seen = f"{len(ready)} of {len(alive)} pods ready, images {images}"
        available = deployment.status.available_replicas or 0
        if images == [f"{PAUSE}:{tag}"] * wanted and len(ready) == wanted == available:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"{namespace}/{name} did not roll out to {tag}: {seen}")


async def image_of(api: Any, namespace: str, name: str) -> str:
    deployment = await client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    image: str = deployment.spec.template.spec.containers[0].image
    return image


async def resource_version(api: Any, namespace: str, name: str) -> str:
    deployment = await client.AppsV1Api(api).read_namespaced_deployment(name, namespace)
    version: str = deployment.metadata.resource_version
    return version


def _ready(pod: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
