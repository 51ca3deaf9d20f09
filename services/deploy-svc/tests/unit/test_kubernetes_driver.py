"""The kubernetes driver's settings and image references; the cluster itself is exercised in
tests/integration/test_drivers.py where one answers."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy_svc.drivers.base import BadTargetSettings, DriverError
from deploy_svc.drivers.kubernetes import KubernetesDriver, KubernetesSettings
from deploy_svc.drivers.limits import KubernetesLimits
from tests.support.drivers import job_for

SETTINGS = {
    "namespace": "payments",
    "deployment": "payments-api",
    "container": "api",
    "image": "images.example.com/payments:{version}",
}
LIMITS = KubernetesLimits(
    namespaces=("payments",),
    image_prefixes=("images.example.com/",),
    own_namespaces=frozenset({"ferry"}),
)


def test_an_image_is_named_after_the_version_and_the_version_read_back() -> None:
    settings = KubernetesSettings.model_validate(SETTINGS)
    assert settings.image_of("2.0.1") == "images.example.com/payments:2.0.1"
    assert settings.version_of("images.example.com/payments:1.9") == "1.9"
    # Not of this template: kept whole, so that a rollback can put it back as it was.
    pinned = "other.example.com/api@sha256:ab"
    assert settings.version_of(pinned) == pinned


@pytest.mark.parametrize(
    ("change", "setting"),
    [
        ({"image": "images.example.com/payments:latest"}, "image"),
        ({"namespace": "Payments"}, "namespace"),
        ({"container": ""}, "container"),
        ({"rollout_timeout_seconds": 0}, "rollout_timeout_seconds"),
        ({"replicas": 3}, "replicas"),
    ],
)
def test_check_names_the_setting_at_fault(change: dict[str, object], setting: str) -> None:
    with pytest.raises(BadTargetSettings) as refused:
        KubernetesDriver(LIMITS).check({**SETTINGS, **change})
    assert refused.value.setting == setting


async def test_without_a_cluster_configured_a_step_fails_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    with pytest.raises(DriverError, match="no Kubernetes cluster is configured"):
        await KubernetesDriver(LIMITS).install(job_for(tmp_path, "2.0", {}, **SETTINGS))


async def test_rolling_back_to_nothing_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DriverError, match="no previous one"):
        await KubernetesDriver(LIMITS).roll_back(job_for(tmp_path, "2.0", {}, **SETTINGS), None)
