"""The drivers deploy-svc offers targets, built from its settings."""

from __future__ import annotations

import httpx

from deploy_svc.config import Settings
from deploy_svc.drivers.base import Driver
from deploy_svc.drivers.kubernetes import KubernetesDriver
from deploy_svc.drivers.local import LocalDriver
from deploy_svc.drivers.webhook import WebhookDriver
from ferry.db import Database


def drivers(
    settings: Settings, db: Database | None = None, client: httpx.AsyncClient | None = None
) -> dict[str, Driver]:
    """Each driver by the name targets give in `driver`.

    The webhook driver reads the results called back from `db`, the service's database;
    without one it opens its own, small, on first use. `client` (default: one per request)
    is how it reaches the automation."""
    results = db or Database(settings.database_url, settings.db_schema, "deploy-svc", pool_size=2)
    found: list[Driver] = [
        LocalDriver(),
        WebhookDriver(results, settings.webhook_secrets, settings.public_url, client),
        KubernetesDriver(),
    ]
    return {driver.name: driver for driver in found}
