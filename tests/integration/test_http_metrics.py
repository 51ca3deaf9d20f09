"""Each request's latency is counted by route template and status, on /metrics."""

from __future__ import annotations

import uuid

from release_svc.config import Settings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import requests_counted, serving, settings


def count(metrics: str, route: str, status: int) -> float:
    return requests_counted(metrics, "GET", route, status)


async def test_requests_are_counted_by_route_template_and_status(
    infra: Infra, topic_prefix: str
) -> None:
    service = release_spec(settings(Settings, infra, topic_prefix))
    async with serving(service, headers=infra.issuer.bearer("vic", "viewer")) as api:
        before = (await api.get("/metrics")).text
        for _ in range(3):
            assert (await api.get(f"/releases/{uuid.uuid4()}")).status_code == 404
        assert (await api.get("/releases", headers={"Authorization": ""})).status_code == 401
        after = (await api.get("/metrics")).text
    assert (
        count(after, "/releases/{release_ref}", 404) - count(before, "/releases/{release_ref}", 404)
        == 3
    )
    assert count(after, "/releases", 401) - count(before, "/releases", 401) == 1
