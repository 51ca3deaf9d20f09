"""deploy-svc's identity on a real API server: the Role the operator grants in a target
namespace (deploy/k8s/base/deploy-svc/target-namespace-rbac.yaml, as shipped) lets the
kubernetes driver change a Deployment there, and nowhere else: not another namespace, not
Ferry's own (where it has no Role), even when the operator's limits wrongly allow them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes_asyncio import client

from deploy_svc.drivers.base import DriverError
from deploy_svc.drivers.kubernetes import KubernetesDriver
from deploy_svc.drivers.limits import KubernetesLimits
from tests.k8s.rendered import K8S
from tests.kubernetes.conftest import ControlPlane
from tests.kubernetes.workloads import PAUSE, create_deployment, image_of, resource_version
from tests.support.drivers import job_for

ROLE = K8S / "base" / "deploy-svc" / "target-namespace-rbac.yaml"
SERVICE_ACCOUNT = "deploy-svc"


def grant(control_plane: ControlPlane, target: str, ferry: str) -> None:
    """The shipped example, for `target`, as its comment tells the operator to apply it."""
    text = ROLE.read_text()
    text = re.sub(r"namespace: payments$", f"namespace: {target}", text, flags=re.MULTILINE)
    text = re.sub(r"namespace: ferry$", f"namespace: {ferry}", text, flags=re.MULTILINE)
    done = control_plane.kubectl("apply", "--server-side", "-f", "-", stdin=text)
    assert done.returncode == 0, done.stderr


async def service_account_kubeconfig(
    api: Any, control_plane: ControlPlane, namespace: str, folder: Path
) -> Path:
    """A kubeconfig holding a token the API server issued to deploy-svc's ServiceAccount,
    as its pod would mount."""
    core = client.CoreV1Api(api)
    # The client sends dicts as they are, though its annotations ask for model objects.
    await core.create_namespaced_service_account(namespace, {"metadata": {"name": SERVICE_ACCOUNT}})  # type: ignore[arg-type]
    request = {"spec": {"audiences": [], "expirationSeconds": 3600}}
    answer = await core.create_namespaced_service_account_token(SERVICE_ACCOUNT, namespace, request)  # type: ignore[arg-type]
    path = folder / "deploy-svc.kubeconfig"
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "test",
                        "cluster": {
                            "server": control_plane.server(),
                            "certificate-authority": str(control_plane.ca_file()),
                        },
                    }
                ],
                "users": [{"name": "deploy-svc", "user": {"token": answer.status.token}}],
                "contexts": [
                    {"name": "test", "context": {"cluster": "test", "user": "deploy-svc"}}
                ],
                "current-context": "test",
            }
        )
    )
    return path


async def test_deploy_svc_may_change_only_where_its_role_is_granted(
    api: Any,
    control_plane: ControlPlane,
    new_namespace: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ferry, granted, other = new_namespace(), new_namespace(), new_namespace()
    grant(control_plane, granted, ferry)
    for namespace in (granted, other):
        await create_deployment(api, namespace, "shop", "3.9", replicas=1)
    await create_deployment(api, ferry, "dml-svc", "3.9", replicas=1)
    monkeypatch.setenv(
        "KUBECONFIG", str(await service_account_kubeconfig(api, control_plane, ferry, tmp_path))
    )
    # Limits as wide as an operator's mistake: the cluster's RBAC is the last word.
    driver = KubernetesDriver(
        KubernetesLimits(namespaces=(granted, other, ferry), image_prefixes=(f"{PAUSE}:",))
    )

    def job(namespace: str, name: str) -> Any:
        settings = {
            "namespace": namespace,
            "deployment": name,
            "container": "app",
            "image": f"{PAUSE}:{{version}}",
            "rollout_timeout_seconds": 60,
        }
        return job_for(tmp_path / namespace, "3.10", {}, **settings)

    assert await driver.install(job(granted, "shop")) == "3.9"
    assert await image_of(api, granted, "shop") == f"{PAUSE}:3.10"

    for namespace, name in ((other, "shop"), (ferry, "dml-svc")):
        before = await resource_version(api, namespace, name)
        with pytest.raises(DriverError, match="answered 403 Forbidden"):
            await driver.install(job(namespace, name))
        assert await resource_version(api, namespace, name) == before
        assert await image_of(api, namespace, name) == f"{PAUSE}:3.9"


async def test_the_shipped_role_grants_nothing_beyond_what_the_driver_calls(
    control_plane: ControlPlane, new_namespace: Any
) -> None:
    ferry, granted = new_namespace(), new_namespace()
    grant(control_plane, granted, ferry)
    who = f"system:serviceaccount:{ferry}:{SERVICE_ACCOUNT}"

    def may(verb: str, resource: str, namespace: str) -> bool:
        done = control_plane.kubectl("auth", "can-i", verb, resource, "-n", namespace, "--as", who)
        return done.stdout.strip() == "yes"

    for verb in ("get", "list", "watch", "patch"):
        assert may(verb, "deployments.apps", granted), verb
    for verb, resource in (
        ("create", "deployments.apps"),
        ("delete", "deployments.apps"),
        ("get", "secrets"),
        ("create", "pods"),
        ("patch", "rolebindings.rbac.authorization.k8s.io"),
    ):
        assert not may(verb, resource, granted), f"{verb} {resource}"
    for namespace in (ferry, "default", "kube-system"):
        assert not may("patch", "deployments.apps", namespace), namespace
