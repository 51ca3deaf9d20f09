"""A release's history: every event of its stream, who caused it and in which conversation,
a page at a time; against real PostgreSQL and Kafka."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from release_svc.config import Settings
from release_svc.main import spec
from tests.support.infra import Infra
from tests.support.services import serving, settings

PLAN = {
    "name": "Payments",
    "version": "2026.12.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-05",
}


@pytest.fixture
async def api(infra: Infra, topic_prefix: str) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc, called by an auditor unless a request says otherwise."""
    s = settings(Settings, infra, topic_prefix)
    async with serving(spec(s), headers=infra.issuer.bearer("audrey", "auditor")) as client:
        yield client


async def planned(api: httpx.AsyncClient, infra: Infra, moves: int = 0) -> str:
    """A release rita planned and then moved `moves` times; its id."""
    rita = infra.issuer.bearer("rita", "release-manager", "tester")
    created = await api.post("/releases", json=PLAN, headers={**rita, "X-Correlation-ID": "plan-1"})
    assert created.status_code == 201, created.text
    for n in range(1, moves + 1):
        move = {
            "planned_start": f"2026-12-{n + 1:02}",
            "planned_end": "2026-12-20",
            "reason": "late",
        }
        moved = await api.put(
            f"{created.headers['Location']}/schedule",
            json=move,
            headers={**rita, "If-Match": f'"{n}"', "X-Correlation-ID": f"move-{n}"},
        )
        assert moved.status_code == 200, moved.text
    return str(created.json()["id"])


async def test_the_history_lists_each_event_with_who_when_and_why(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    started = datetime.now().astimezone()
    release_id = await planned(api, infra, moves=1)
    answer = await api.get(f"/releases/{release_id}/history")
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert page["next"] is None
    first, second = page["items"]
    assert [(e["type"], e["stream_version"]) for e in page["items"]] == [
        ("ReleasePlanned", 1),
        ("ReleaseRescheduled", 2),
    ]
    for event, correlation in ((first, "plan-1"), (second, "move-1")):
        assert (event["actor"], event["actor_roles"]) == ("rita", ["release-manager", "tester"])
        assert (event["correlation_id"], event["causation_id"]) == (
            correlation,
            f"http:{correlation}",
        )
        assert abs(datetime.fromisoformat(event["time"]) - started) < timedelta(minutes=1)
    assert (first["data"]["name"], first["data"]["identifier"][:4]) == ("Payments", "REL-")
    assert (second["data"]["planned_start"], second["data"]["reason"]) == ("2026-12-02", "late")
    assert first["id"] != second["id"]


async def test_the_history_comes_a_page_at_a_time(api: httpx.AsyncClient, infra: Infra) -> None:
    release_id = await planned(api, infra, moves=4)
    versions: list[list[int]] = []
    after: int | None = 0
    while after is not None:
        page = (
            await api.get(f"/releases/{release_id}/history", params={"after": after, "limit": 2})
        ).json()
        versions.append([e["stream_version"] for e in page["items"]])
        after = page["next"]
    assert versions == [[1, 2], [3, 4], [5]]
    beyond = await api.get(f"/releases/{release_id}/history", params={"after": 5})
    assert beyond.json() == {"items": [], "next": None}


async def test_an_unknown_release_has_no_history_and_bad_pages_are_refused(
    api: httpx.AsyncClient, infra: Infra
) -> None:
    for after in ("0", "3"):
        unknown = await api.get(f"/releases/{uuid.uuid4()}/history", params={"after": after})
        assert unknown.status_code == 404
        assert unknown.headers["content-type"] == "application/problem+json"
    release_id = await planned(api, infra)
    for params, field in (({"limit": 501}, "limit"), ({"after": -1}, "after")):
        refused = await api.get(f"/releases/{release_id}/history", params=params)
        assert refused.status_code == 422
        assert field in refused.json()["detail"]
