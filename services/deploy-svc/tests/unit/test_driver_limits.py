"""The operator's limits on targets: each refusal names the setting and the limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deploy_svc.config import Settings
from deploy_svc.drivers.base import BadTargetSettings, DriverError
from deploy_svc.drivers.kubernetes import KubernetesDriver
from deploy_svc.drivers.limits import KubernetesLimits, LocalLimits, url_allowed
from deploy_svc.drivers.local import LocalDriver
from deploy_svc.drivers.registry import own_namespaces
from tests.support.drivers import job_for

PREFIXES = ("https://ci.example.com/hooks/", "http://127.0.0.1:9000/status")


@pytest.mark.parametrize(
    "url",
    [
        "https://ci.example.com/hooks/ferry",
        "https://CI.example.com/hooks/a/b?x=1",
        "https://ci.example.com:443/hooks/x",
        "http://127.0.0.1:9000/status",
        "http://127.0.0.1:9000/status/42",
    ],
)
def test_urls_under_a_prefix_are_allowed(url: str) -> None:
    url_allowed("url", url, PREFIXES)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "https://kubernetes.default.svc/api",
        "http://127.0.0.1:5432/",
        "https://ci.example.com.evil.net/hooks/x",
        "https://ci.example.com/other",
        "http://ci.example.com/hooks/x",
        "https://ci.example.com:8443/hooks/x",
        "https://user:pw@ci.example.com/hooks/x",
        "https://ci.example.com/hooks/%2e%2e/admin",
        "https://ci.example.com/hooks/..;/admin",
        "http://127.0.0.1:9000/statusx",
        "http://127.0.0.1:9000/",
    ],
)
def test_urls_outside_every_prefix_are_refused(url: str) -> None:
    with pytest.raises(BadTargetSettings) as refused:
        url_allowed("url", url, PREFIXES)
    assert refused.value.setting == "url"


def test_no_prefixes_allow_no_url_and_say_so() -> None:
    with pytest.raises(BadTargetSettings, match="FERRY_DEPLOY_URL_PREFIXES is empty"):
        url_allowed("verify_url", "https://ci.example.com/hooks/x", ())


def local(tmp_path: Path, programs: tuple[str, ...] = ("test",)) -> LocalDriver:
    return LocalDriver(
        LocalLimits(roots=(tmp_path / "targets",), programs=programs, url_prefixes=PREFIXES)
    )


@pytest.mark.parametrize(
    ("settings", "setting", "says"),
    [
        ({"path": "/etc"}, "path", "under one of"),
        ({"path": "{root}"}, "path", "under one of"),
        ({"path": "{root}/../escape"}, "path", "'..'"),
        ({"path": "{root}/web\x00-1"}, "path", "control characters"),
        ({"path": "{root}/web", "verify_command": ["sh", "-c", "env"]}, "verify_command.0", "sh"),
        ({"path": "{root}/web", "verify_command": ["test", "-f\n"]}, "verify_command.1", "control"),
        ({"path": "{root}/web", "verify_url": "http://169.254.169.254/"}, "verify_url", "start"),
    ],
)
def test_local_targets_outside_the_limits_are_refused(
    tmp_path: Path, settings: dict[str, object], setting: str, says: str
) -> None:
    root = str(tmp_path / "targets")
    filled = {
        k: (v.replace("{root}", root) if isinstance(v, str) else v) for k, v in settings.items()
    }
    with pytest.raises(BadTargetSettings, match=says) as refused:
        local(tmp_path).check(filled)
    assert refused.value.setting == setting


def test_a_local_target_inside_the_limits_is_accepted(tmp_path: Path) -> None:
    local(tmp_path).check(
        {"path": str(tmp_path / "targets" / "web"), "verify_command": ["test", "-f", "x"]}
    )
    local(tmp_path, programs=("*",)).check(
        {"path": str(tmp_path / "targets" / "web"), "verify_command": ["sh", "-c", "true"]}
    )


async def test_a_symbolic_link_out_of_the_roots_fails_the_step(tmp_path: Path) -> None:
    (tmp_path / "targets").mkdir()
    (tmp_path / "targets" / "web").symlink_to(tmp_path / "elsewhere")
    job = job_for(tmp_path / "media", "1.0", {}, path=str(tmp_path / "targets" / "web"))
    with pytest.raises(DriverError, match="symbolic link"):
        await local(tmp_path).install(job)
    assert not (tmp_path / "elsewhere").exists()


async def test_settings_allowed_once_but_no_longer_fail_the_step(tmp_path: Path) -> None:
    job = job_for(tmp_path / "media", "1.0", {}, path=str(tmp_path / "old-root" / "web"))
    with pytest.raises(DriverError, match="no longer allowed: path: must be a folder under"):
        await local(tmp_path).install(job)
    assert not (tmp_path / "old-root").exists()


async def test_the_verification_command_gets_no_variable_of_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FERRY_DEPLOY_WEBHOOK_SECRETS", '{"argo": "do-not-print"}')
    target = tmp_path / "targets" / "web"
    job = job_for(tmp_path / "media", "1.0", {}, path=str(target), verify_command=["env"])
    driver = local(tmp_path, programs=("env",))
    await driver.install(job)
    await driver.verify(job)
    printed = dict(line.split("=", 1) for line in job.log[-1].splitlines()[1:] if "=" in line)
    assert printed == {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(target / "releases" / "1.0"),
        "LANG": "C.UTF-8",
        "FERRY_RELEASE_VERSION": "1.0",
    }


KUBERNETES = {
    "namespace": "payments",
    "deployment": "payments-api",
    "container": "api",
    "image": "registry.example.com/payments/api:{version}",
}
K8S_LIMITS = KubernetesLimits(
    namespaces=("payments", "ferry"),
    deployments=("payments-*",),
    image_prefixes=("registry.example.com/payments/",),
    own_namespaces=frozenset({"ferry"}),
)


@pytest.mark.parametrize(
    ("change", "setting", "says"),
    [
        ({"namespace": "ferry"}, "namespace", "Ferry's own namespace"),
        ({"namespace": "kube-system"}, "namespace", "must be one of: payments, ferry"),
        ({"deployment": "dml-svc"}, "deployment", "payments-\\*"),
        ({"image": "evil.example.com/payments/api:{version}"}, "image", "registry.example.com"),
        ({"image": "registry.example.com/payments.evil/x:{version}"}, "image", "start with"),
        ({"image": "{version}"}, "image", "start with"),
    ],
)
def test_kubernetes_targets_outside_the_limits_are_refused(
    change: dict[str, str], setting: str, says: str
) -> None:
    with pytest.raises(BadTargetSettings, match=says) as refused:
        KubernetesDriver(K8S_LIMITS).check({**KUBERNETES, **change})
    assert refused.value.setting == setting


def test_a_kubernetes_target_inside_the_limits_is_accepted() -> None:
    KubernetesDriver(K8S_LIMITS).check(KUBERNETES)


def test_the_service_accounts_namespace_is_ferrys_own_too(tmp_path: Path) -> None:
    account = tmp_path / "namespace"
    account.write_text("ferry-prod\n")
    settings = Settings(own_namespace="ferry")
    assert own_namespaces(settings, account) == {"ferry", "ferry-prod"}
    assert own_namespaces(Settings(), tmp_path / "absent") == frozenset()


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("k8s_namespaces", ["ferry"], "Ferry's own namespace"),
        ("local_roots", ["relative/targets"], "absolute paths"),
        ("url_prefixes", ["ftp://ci.example.com/"], "http(s)"),
        ("url_prefixes", ["https://user:pw@ci.example.com/"], "no user"),
        ("k8s_image_prefixes", ["registry.example.com"], "end in '/' or ':'"),
        ("drivers", ["shell"], "local"),
    ],
)
def test_limits_the_service_cannot_hold_stop_it_at_start_up(
    setting: str, value: list[str], says: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        Settings.model_validate({"own_namespace": "ferry", setting: value})
