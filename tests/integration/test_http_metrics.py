"""Each request's latency is counted by route template and status, on /metrics."""

from __future__ import annotations

import uuid

from release_svc.config import Settings
from release_svc.main import spec as release_spec
from tests.support.infra import Infra
from tests.support.services import serving, settings


def count(metrics: str, route: str, status: int) -> float:
    labels = f'method="GET",route="{route}",service="release-svc",status="{status}"'
    prefix = f"ferry_http_request_duration_seconds_count{{{labels}}} "
    found = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(found[0].removeprefix(prefix)) if found else 0.0


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
