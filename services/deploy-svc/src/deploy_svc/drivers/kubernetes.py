"""The `kubernetes` driver: sets one container's image of a Deployment and waits for the
rollout to finish.

The cluster is the one this process runs in (its service account), else the current
context of the kubeconfig (`KUBECONFIG`, default `~/.kube/config`). The Deployment keeps,
in the annotation `ferry.io/image-switches`, each container's last image set by Ferry and the
version before it, so that a repeated install still answers the version live before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
from pydantic import BaseModel, ConfigDict, Field

from deploy_svc.drivers import limits
from deploy_svc.drivers.base import DriverError, Job
from deploy_svc.drivers.limits import KubernetesLimits
from deploy_svc.drivers.options import for_step, parse

SWITCHES = "ferry.io/image-switches"
NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class KubernetesSettings(BaseModel):
    """A `kubernetes` target's settings."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    namespace: str = Field(pattern=NAME)
    deployment: str = Field(pattern=r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
    container: str = Field(pattern=NAME)
    image: str = Field(pattern=r"^[^\s{}]*\{version\}[^\s{}]*$")
    """The image reference with `{version}` where the release's version goes."""
    rollout_timeout_seconds: float = Field(600, gt=0, le=86_400)

    def image_of(self, version: str) -> str:
        return self.image.replace("{version}", version)

    def version_of(self, image: str) -> str:
        """The version in `image`, or the whole reference when it does not fit the template."""
        prefix, suffix = self.image.split("{version}")
        if image.startswith(prefix) and image.endswith(suffix):
            middle = image[len(prefix) : len(image) - len(suffix)]
            if middle:
                return middle
        return image


def _is_reference(previous: str) -> bool:
    # Versions are file-name safe (the DML's rule): never a `/`, `:` or `@`; references are.
    return any(mark in previous for mark in "/:@")


class KubernetesDriver:
    """Updates a Deployment's image and waits for the rollout."""

    name = "kubernetes"

    def __init__(self, limits: KubernetesLimits) -> None:
        self._limits = limits
        self._configuration: Any = None
        self._loading = asyncio.Lock()

    def check(self, settings: Mapping[str, object]) -> None:
        self._checked(settings)

    def _checked(self, settings: Mapping[str, object]) -> KubernetesSettings:
        """The settings, if the operator's namespaces, names and image prefixes allow them."""
        found = parse(KubernetesSettings, settings)
        limits.namespace_allowed("namespace", found.namespace, self._limits)
        limits.deployment_allowed("deployment", found.deployment, self._limits)
        limits.image_allowed("image", found.image, self._limits)
        return found

    async def install(self, job: Job) -> str | None:
        settings = for_step(self._checked, job.settings)
        image = settings.image_of(job.artifacts.version)
        async with self._apps() as apps:
            previous = await _set_image(apps, settings, image, record=True)
            try:
                await _rolled_out(apps, settings, image)
            except DriverError:
                # Switched but not rolled out: the deployment does not count this target
                # as switched, so it is put back here, before the failure is reported.
                if previous is not None:
                    back = previous if _is_reference(previous) else settings.image_of(previous)
                    await _set_image(apps, settings, back, record=False)
                raise
        return previous

    async def verify(self, job: Job) -> None:
        settings = for_step(self._checked, job.settings)
        async with self._apps() as apps:
            await _rolled_out(apps, settings, settings.image_of(job.artifacts.version))

    async def live(self, settings: Mapping[str, object]) -> str | None:
        """The version of the container's image, as the Deployment's spec has it."""
        checked = for_step(self._checked, settings)
        async with self._apps() as apps:
            deployment = await apps.read_namespaced_deployment(
                checked.deployment, checked.namespace
            )
        containers = deployment.spec.template.spec.containers
        found = next((c for c in containers if c.name == checked.container), None)
        return None if found is None else checked.version_of(found.image)

    async def roll_back(self, job: Job, previous: str | None) -> None:
        settings = for_step(self._checked, job.settings)
        if previous is None:
            raise DriverError("a Deployment cannot go without an image: no previous one known")
        image = previous if _is_reference(previous) else settings.image_of(previous)
        async with self._apps() as apps:
            await _set_image(apps, settings, image, record=False)
            await _rolled_out(apps, settings, image)

    @contextlib.asynccontextmanager
    async def _apps(self) -> AsyncIterator[Any]:
        """The Deployments API of the cluster; its errors as `DriverError`."""
        # Imported on first use: the generated client takes over a second to import, which
        # every start of deploy-svc would pay, whether a target runs on Kubernetes or not.
        from kubernetes_asyncio import client
        from kubernetes_asyncio.client.exceptions import ApiException

        configuration = await self._load()
        # The generated API is untyped: reached through `Any`, for mypy's sake.
        api_client: Any = client.ApiClient
        apps_api: Any = client.AppsV1Api
        try:
            async with api_client(configuration) as api:
                yield apps_api(api)
        except ApiException as exc:
            raise DriverError(f"the Kubernetes API answered {exc.status} {exc.reason}") from exc
        except aiohttp.ClientError as exc:
            raise DriverError(f"the Kubernetes API cannot be reached: {exc!r}") from exc

    async def _load(self) -> Any:
        from kubernetes_asyncio import client, config

        async with self._loading:
            if self._configuration is None:
                untyped: Any = client.Configuration
                configuration = untyped()
                in_cluster: Any = config.load_incluster_config
                try:
                    if "KUBERNETES_SERVICE_HOST" in os.environ:
                        in_cluster(client_configuration=configuration)
                    else:
                        # KUBECONFIG read now: the library's default froze it at import.
                        await config.load_kube_config(
                            os.environ.get("KUBECONFIG"), client_configuration=configuration
                        )
                except (config.ConfigException, OSError) as exc:
                    raise DriverError(f"no Kubernetes cluster is configured: {exc}") from exc
                self._configuration = configuration
        return self._configuration


async def _set_image(apps: Any, settings: KubernetesSettings, image: str, *, record: bool) -> str:
    """Set the container's image (unless it is set already); the version it had before."""
    deployment = await apps.read_namespaced_deployment(settings.deployment, settings.namespace)
    containers = deployment.spec.template.spec.containers
    found = next((c for c in containers if c.name == settings.container), None)
    if found is None:
        raise DriverError(f"{settings.deployment} has no container {settings.container}")
    switches = json.loads((deployment.metadata.annotations or {}).get(SWITCHES, "{}"))
    last = switches.get(settings.container, {})
    if found.image == image:
        # Set already, by this step before a crash: answer what was live before it.
        previous = last.get("previous") if last.get("image") == image else None
        return str(previous or settings.version_of(image))
    previous = settings.version_of(found.image)
    metadata: dict[str, Any] = {"resourceVersion": deployment.metadata.resource_version}
    if record:
        switches[settings.container] = {"image": image, "previous": previous}
        metadata["annotations"] = {SWITCHES: json.dumps(switches)}
    patch = {
        # resourceVersion: a change made since the read fails (409) instead of being undone.
        "metadata": metadata,
        "spec": {"template": {"spec": {"containers": [{"name": found.name, "image": image}]}}},
    }
    await apps.patch_namespaced_deployment(settings.deployment, settings.namespace, patch)
    return previous


async def _rolled_out(apps: Any, settings: KubernetesSettings, image: str) -> None:
    """Wait until every replica runs `image` and is available, or raise `DriverError`."""
    deadline = time.monotonic() + settings.rollout_timeout_seconds
    where = f"{settings.namespace}/{settings.deployment}"
    while True:
        deployment = await apps.read_namespaced_deployment(settings.deployment, settings.namespace)
        spec, status = deployment.spec, deployment.status
        running = {c.name: c.image for c in spec.template.spec.containers}
        if running.get(settings.container) != image:
            raise DriverError(f"{where} now runs {running.get(settings.container)}, not {image}")
        wanted = 1 if spec.replicas is None else spec.replicas
        for condition in status.conditions or []:
            if condition.type == "Progressing" and condition.reason == "ProgressDeadlineExceeded":
                raise DriverError(f"{where} did not progress: {condition.message}")
        done = (
            (status.observed_generation or 0) >= deployment.metadata.generation
            and (status.updated_replicas or 0) == wanted
            and (status.replicas or 0) == wanted
            and (status.available_replicas or 0) == wanted
        )
        if done:
            return
        if time.monotonic() > deadline:
            raise DriverError(
                f"{where} did not roll out within {settings.rollout_timeout_seconds:g}s: "
                f"{status.updated_replicas or 0} of {wanted} updated, "
                f"{status.available_replicas or 0} available"
            )
        await asyncio.sleep(2)
