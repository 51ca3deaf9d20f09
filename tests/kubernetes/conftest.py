"""Fixtures of the tests under tests/kubernetes: a real Kubernetes API server (with its
controllers, its scheduler and kwok playing the nodes) that `make test-kubernetes` starts
(deploy/local/kube.sh). Without one these tests fail, saying so; they never skip.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client, config

from tests.k8s.rendered import tool

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `make test` runs without a control plane: these run in `make test-kubernetes`.
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.kubernetes)


@dataclass(frozen=True)
class ControlPlane:
    """The API server of the test stack, reached as its administrator."""

    kubeconfig: Path

    def kubectl(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`kubectl ARGS` as the administrator; its output, whatever its exit status."""
        return subprocess.run(
            [tool("kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def ca_file(self) -> Path:
        return self.kubeconfig.parent / "pki" / "ca.crt"

    def server(self) -> str:
        done = self.kubectl("config", "view", "-o", "jsonpath={.clusters[0].cluster.server}")
        return done.stdout.strip()


@pytest.fixture(scope="session")
def control_plane() -> ControlPlane:
    found = os.environ.get("KUBECONFIG", "")
    if not found or not Path(found).is_file():
        pytest.fail(
            "no Kubernetes control plane: KUBECONFIG does not name a kubeconfig. Run these "
            "with `make test-kubernetes`, which starts one (deploy/local/kube.sh; "
            "FERRY_KUBERNETES=1 make up for development).",
            pytrace=False,
        )
    plane = ControlPlane(Path(found))
    ready = plane.kubectl("get", "--raw", "/readyz")
    if ready.returncode != 0:
        pytest.fail(
            f"the Kubernetes API server of {found} is not ready: {ready.stderr.strip()}",
            pytrace=False,
        )
    return plane


@pytest.fixture
async def api(control_plane: ControlPlane) -> AsyncIterator[Any]:
    """An API client of the control plane, as its administrator."""
    configuration = client.Configuration()
    await config.load_kube_config(str(control_plane.kubeconfig), client_configuration=configuration)
    async with client.ApiClient(configuration) as api_client:
        yield api_client


@pytest.fixture
def new_namespace(control_plane: ControlPlane) -> Iterator[Any]:
    """A function making fresh namespaces (`ferry-t-…`), each deleted after the test."""
    made: list[str] = []

    def make(labels: dict[str, str] | None = None) -> str:
        name = f"ferry-t-{uuid.uuid4().hex[:8]}"
        done = control_plane.kubectl("create", "namespace", name)
        assert done.returncode == 0, done.stderr
        if labels:
            pairs = [f"{k}={v}" for k, v in labels.items()]
            labelled = control_plane.kubectl("label", "namespace", name, *pairs)
            assert labelled.returncode == 0, labelled.stderr
        made.append(name)
        return name

    yield make
    for name in made:
        control_plane.kubectl("delete", "namespace", name, "--wait=false")
