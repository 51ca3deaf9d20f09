"""The Helm chart (deploy/helm/ferry), beside the kustomize overlays: it lints, its values
schema refuses what cannot work, it ships what the code needs (Kafka users, schema
revisions, the version), and what it renders for production matches the production
overlay in everything the policies care about. The policy tests of this folder run over the
chart's renders as well (tests/k8s/rendered.py, RENDERS)."""

from __future__ import annotations

import subprocess
import tomllib
from typing import Any

import pytest
import yaml

from tests.k8s.rendered import (
    CHART,
    CHARTS,
    K8S,
    PRODUCTION,
    ROOT,
    Obj,
    Rendered,
    container_env,
    containers,
    migrate_job,
    pod_spec,
    render,
    render_chart,
    schema_revision,
    tool,
)

SERVICES = ["release-svc", "dml-svc", "deploy-svc", "els-svc"]


def helm(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("helm"), *args], capture_output=True, text=True, check=False, timeout=120
    )


@pytest.mark.parametrize("values", CHARTS.values(), ids=list(CHARTS))
def test_the_chart_lints_strictly(values: Any) -> None:
    done = helm("lint", "--strict", str(CHART), *(["--values", str(values)] if values else []))
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_chart_is_versioned_with_the_application() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["version"], chart["appVersion"]) == (project, project)


def test_the_chart_ships_the_kafka_users_ferry_kafka_users_renders() -> None:
    # users.yaml is checked against `ferry kafka-users` (test_kafka_resources.py).
    shipped = (CHART / "files" / "kafka-users.yaml").read_text()
    assert shipped == (K8S / "base" / "kafka" / "users.yaml").read_text(), (
        "copy deploy/k8s/base/kafka/users.yaml to deploy/helm/ferry/files/kafka-users.yaml"
    )


def test_the_chart_knows_each_services_schema_revision() -> None:
    shipped = yaml.safe_load((CHART / "files" / "schema-revisions.yaml").read_text())
    expected = {s.removesuffix("-svc"): schema_revision(s) for s in SERVICES}
    assert shipped == expected, "deploy/helm/ferry/files/schema-revisions.yaml is stale"


@pytest.mark.parametrize(
    ("setting", "why"),
    [
        ("image.digest=latest", "/image/digest"),
        ("services.deploy.drivers[0]=local", "/services/deploy/drivers/0"),
        ("services.dml.storage.accessModes=null", "/services/dml/storage"),
        ("networkPolicy.egress.kafka.port=99999", "/networkPolicy/egress/kafka/port"),
        ("extraSettings.NOT_OURS=1", "NOT_OURS"),
        ("services.release.settings.FERRY_SMTP_PASSWORD=x", "FERRY_SMTP_PASSWORD"),
        # A setting the chart writes itself, again: which a pod saw would depend on order.
        ("extraSettings.FERRY_LOG_LEVEL=DEBUG", "extraSettings.FERRY_LOG_LEVEL: the chart sets"),
        (
            "services.deploy.settings.FERRY_DEPLOY_DRIVERS=x",
            "services.deploy.settings.FERRY_DEPLOY_DRIVERS: the chart or extraSettings",
        ),
        ("imagee.tag=1", "imagee"),
    ],
)
def test_the_chart_refuses_values_that_cannot_work(setting: str, why: str) -> None:
    done = helm("template", "ferry", str(CHART), "--set", setting)
    assert done.returncode != 0, f"{setting} was accepted"
    assert why in done.stderr, done.stderr


def test_the_same_image_and_revision_give_the_same_migrate_job_and_a_new_image_a_new_one() -> None:
    def job_names(*settings: str) -> set[str]:
        args = [a for s in settings for a in ("--set", s)]
        done = helm("template", "ferry", str(CHART), *args)
        assert done.returncode == 0, done.stderr
        jobs = [o for o in yaml.safe_load_all(done.stdout) if o and o["kind"] == "Job"]
        return {j["metadata"]["name"] for j in jobs}

    assert job_names("image.tag=1.0.0") == job_names("image.tag=1.0.0")
    assert job_names("image.tag=1.0.0").isdisjoint(job_names("image.tag=1.0.1"))


@pytest.mark.parametrize("production", PRODUCTION)
def test_production_pins_a_digest(production: str) -> None:
    for workload in render(production).of_kind("Deployment", "Job", "CronJob"):
        for container in containers(workload):
            assert "@sha256:" in container["image"], container["image"]


@pytest.mark.parametrize("production", PRODUCTION)
def test_production_names_the_storage_class(production: str) -> None:
    (claim,) = render(production).of_kind("PersistentVolumeClaim")
    assert claim["spec"]["storageClassName"], "the DML's claim names a ReadWriteMany class"
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]


@pytest.mark.parametrize("production", PRODUCTION)
def test_production_network_policies_name_every_peer(production: str) -> None:
    for policy in render(production).of_kind("NetworkPolicy"):
        name = policy["metadata"]["name"]
        for rule in policy["spec"]["ingress"]:
            assert rule.get("from"), f"{name}: ingress from anywhere"
        for rule in policy["spec"]["egress"]:
            assert rule.get("to"), f"{name}: egress to anywhere on {rule['ports']}"


# --- the chart and the production overlay render the same policies --------------------------


def policies(rendered: Rendered) -> dict[str, Any]:
    """What the policies care about, by object, leaving out names, labels and peers that
    differ by design (hashed ConfigMap names, Helm's labels, the chart's named peers)."""
    found: dict[str, Any] = {}
    for deployment in rendered.of_kind("Deployment"):
        name = deployment["metadata"]["name"]
        pod = pod_spec(deployment)
        (container,) = pod["containers"]
        found[f"Deployment/{name}"] = {
            "command": container["command"],
            "ports": container["ports"],
            "probes": {
                p: container[p] for p in ("startupProbe", "livenessProbe", "readinessProbe")
            },
            "securityContext": (pod["securityContext"], container["securityContext"]),
            "automountServiceAccountToken": pod.get("automountServiceAccountToken"),
            "resources": container["resources"],
            "settings": sorted(container_env(rendered, container)),
            "mounts": sorted(
                (m["mountPath"], m.get("readOnly", False)) for m in container["volumeMounts"]
            ),
            "volumes": sorted(volume_kind(v) for v in pod["volumes"]),
            "strategy": deployment["spec"]["strategy"],
            "terminationGracePeriodSeconds": pod["terminationGracePeriodSeconds"],
        }
        job = migrate_job(rendered, name)
        (migrate,) = pod_spec(job)["containers"]
        found[f"Job/{name}"] = {
            "command": migrate["command"],
            "settings": sorted(container_env(rendered, migrate)),
            "securityContext": migrate["securityContext"],
        }
    for kind in ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
        for obj in rendered.of_kind(kind):
            spec = {k: v for k, v in obj["spec"].items() if k not in ("selector",)}
            found[f"{kind}/{obj['metadata']['name']}"] = spec
    for policy in rendered.of_kind("NetworkPolicy"):
        spec = policy["spec"]
        found[f"NetworkPolicy/{policy['metadata']['name']}"] = {
            way: {(p["protocol"], p["port"]) for rule in spec[way] for p in rule["ports"]}
            for way in ("ingress", "egress")
        }
    for resource in rendered.of_kind("KafkaTopic", "KafkaUser"):
        found[f"{resource['kind']}/{resource['metadata']['name']}"] = resource["spec"]
    return found


def volume_kind(volume: Obj) -> str:
    """A volume as the policies see it: its kind and what it holds, not its name."""
    kind = next(k for k in volume if k != "name")
    source = volume[kind] or {}
    held = source.get("secretName") or source.get("name") or source.get("claimName") or ""
    return f"{kind}:{held}:{source.get('sizeLimit', '')}"


CHART_ONLY = {"NetworkPolicy/ferry-audit-verify"}
"""What the chart has and the overlays have not: the scheduled audit's own policy (its
CronJob, ServiceMonitor, PrometheusRule and dashboard are the chart's monitoring)."""


def test_the_chart_renders_the_production_overlays_policies() -> None:
    overlay, chart = policies(render("production")), policies(render("helm-production"))
    assert sorted(set(chart) - CHART_ONLY) == sorted(overlay)
    for key, expected in overlay.items():
        assert chart[key] == expected, key


def test_a_service_without_autoscaling_runs_its_fixed_replicas() -> None:
    rendered = render_chart(
        "helm els fixed", None, "services.els.autoscaling.enabled=false", "services.els.replicas=3"
    )
    scaled = {h["metadata"]["name"] for h in rendered.of_kind("HorizontalPodAutoscaler")}
    assert scaled == {"release-svc", "dml-svc", "deploy-svc"}
    replicas = {
        d["metadata"]["name"]: d["spec"].get("replicas") for d in rendered.of_kind("Deployment")
    }
    assert replicas == {"release-svc": None, "dml-svc": None, "deploy-svc": None, "els-svc": 3}


class _Strict(yaml.SafeLoader):
    """YAML that refuses a key twice in one mapping (PyYAML keeps the last silently)."""


def _no_duplicates(loader: _Strict, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [loader.construct_object(key) for key, _ in node.value]
    twice = {key for key in keys if keys.count(key) > 1}
    assert not twice, f"line {node.start_mark.line + 1}: {twice} twice"
    return loader.construct_mapping(node, deep)


_Strict.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


@pytest.mark.parametrize("values", CHARTS.values(), ids=list(CHARTS))
def test_no_rendered_object_says_a_key_twice(values: Any) -> None:
    done = helm("template", "ferry", str(CHART), *(["--values", str(values)] if values else []))
    assert done.returncode == 0, done.stderr
    assert [o for o in yaml.load_all(done.stdout, Loader=_Strict) if o]


def test_operators_settings_reach_the_configmaps() -> None:
    rendered = render_chart(
        "helm settings",
        None,
        "extraSettings.FERRY_TOPIC_PREFIX=prod-",
        "services.els.settings.FERRY_ELS_EVALUATE_SECONDS=5",
    )
    assert rendered.named("ConfigMap", "ferry")["data"]["FERRY_TOPIC_PREFIX"] == "prod-"
    assert rendered.named("ConfigMap", "els-svc")["data"]["FERRY_ELS_EVALUATE_SECONDS"] == "5"
