"""The drivers deploy-svc offers targets, built from its settings: only those the operator
enabled (FERRY_DEPLOY_DRIVERS), each within the operator's limits."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx

from deploy_svc.config import Settings
from deploy_svc.drivers.base import Driver
from deploy_svc.drivers.kubernetes import KubernetesDriver
from deploy_svc.drivers.limits import KubernetesLimits, LocalLimits
from deploy_svc.drivers.local import LocalDriver
from deploy_svc.drivers.webhook import WebhookDriver
from ferry.db import Database

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
"""Where a pod's service account names its namespace: Ferry's own, when it runs in one."""


def own_namespaces(settings: Settings, account: Path = SERVICE_ACCOUNT_NAMESPACE) -> frozenset[str]:
    """Ferry's own namespace: the setting's, and the service account's where there is one
    (so that a forgotten setting does not open it)."""
    found = {settings.own_namespace} if settings.own_namespace else set()
    # Not on Kubernetes, or no token mounted: the setting alone says.
    with contextlib.suppress(OSError):
        found.add(account.read_text().strip())
    return frozenset(found - {""})


def local_limits(settings: Settings) -> LocalLimits:
    return LocalLimits(
        roots=tuple(settings.local_roots),
        programs=tuple(settings.local_programs),
        url_prefixes=tuple(settings.url_prefixes),
    )


def kubernetes_limits(settings: Settings) -> KubernetesLimits:
    return KubernetesLimits(
        namespaces=tuple(settings.k8s_namespaces),
        deployments=tuple(settings.k8s_deployments),
        image_prefixes=tuple(settings.k8s_image_prefixes),
        own_namespaces=own_namespaces(settings),
    )


def drivers(
    settings: Settings, db: Database | None = None, client: httpx.AsyncClient | None = None
) -> dict[str, Driver]:
    """Each enabled driver by the name targets give in `driver`.

    The webhook driver reads the results called back from `db`, the service's database;
    without one it opens its own, small, on first use. `client` (default: one per request)
    is how it reaches the automation."""
    enabled = set(settings.drivers)
    found: list[Driver] = []
    if "local" in enabled:
        found.append(LocalDriver(local_limits(settings)))
    if "webhook" in enabled:
        results = db or Database(
            settings.database_url, settings.db_schema, "deploy-svc", pool_size=2
        )
        found.append(
            WebhookDriver(
                results,
                settings.webhook_secrets,
                settings.public_url,
                client,
                url_prefixes=tuple(settings.url_prefixes),
            )
        )
    if "kubernetes" in enabled:
        found.append(KubernetesDriver(kubernetes_limits(settings)))
    return {driver.name: driver for driver in found}
