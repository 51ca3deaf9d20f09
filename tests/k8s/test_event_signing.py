"""Signed decisions on Kubernetes, checked statically in every overlay: each service signs
with its own key, a Secret only its pods mount, and every service reads the same trusted
keys, from the operator's ConfigMap (docs/operations.md, On Kubernetes)."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from tests.k8s.rendered import Obj, Rendered, container_env, containers, pod_spec

SERVICES = ("release", "dml", "deploy", "els")


def mounted(workload: Obj, container: Obj, path: str) -> Obj:
    """The volume holding the file at `path` in `container`: mounted read-only, whole."""
    folder = PurePosixPath(path).parent
    [mount] = [m for m in container["volumeMounts"] if PurePosixPath(m["mountPath"]) == folder]
    assert mount.get("readOnly") is True, mount
    assert not {"subPath", "subPathExpr"} & mount.keys(), mount
    volume: Obj = next(v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"])
    return volume


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_signs_with_its_own_key_and_trusts_the_operators_list(
    rendered: Rendered, service: str
) -> None:
    [(deployment, app)] = [
        (d, c)
        for d in rendered.of_kind("Deployment")
        for c in containers(d)
        if c.get("command", [""])[0] == f"ferry-{service}-svc"
    ]
    env = container_env(rendered, app)
    key = mounted(deployment, app, env["FERRY_EVENT_SIGNING_KEY_FILE"])
    assert key["secret"]["secretName"] == f"ferry-{service}-event-key"
    assert PurePosixPath(env["FERRY_EVENT_SIGNING_KEY_FILE"]).name == "event-key.pem"
    trust = mounted(deployment, app, env["FERRY_EVENT_TRUSTED_KEYS_FILE"])
    assert trust["configMap"]["name"] == "ferry-event-trust"
    assert PurePosixPath(env["FERRY_EVENT_TRUSTED_KEYS_FILE"]).name == "trusted.json"
