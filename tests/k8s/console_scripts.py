"""The workspace's console scripts and the settings models of the services they run.

Not a test module: shared by the tests under tests/k8s.
"""

from __future__ import annotations

import importlib
import os
import tomllib

import pytest

from ferry.service import ServiceSpec
from ferry.settings import ServiceSettings
from tests.k8s.rendered import ROOT


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


def load_settings(
    script: str, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> ServiceSettings:
    """The settings the service would read from exactly `env`; unknown FERRY_* fail."""
    settings = settings_of(script)
    unknown = sorted(
        n for n in env if n.startswith("FERRY_") and n not in settings.environment_variables()
    )
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
