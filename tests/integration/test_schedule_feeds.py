"""Calendar feed tokens: a calendar app subscribes to a secret URL, no bearer token needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from ferry.db import Database
from release_svc.adapters import feed_tokens
from release_svc.config import Settings
from tests.support.infra import Infra

PLAN = {
    "name": "Payments 2026.12",
    "version": "2026.12.0",
    "planned_start": "2026-12-01",
    "planned_end": "2026-12-20",
}
WINDOWS = {
    "windows": [
        {
            "environment": "production",
            "start": "2026-12-10T22:00:00Z",
            "end": "2026-12-11T01:00:00Z",
        }
    ]
}


async def test_a_feed_url_serves_the_calendar_until_revoked(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    created = await api.post("/releases", json=PLAN)
    windows = await api.put(
        f"/releases/{created.json()['id']}/windows", json=WINDOWS, headers={"If-Match": '"1"'}
    )
    assert windows.status_code == 200
    vic = infra.issuer.bearer("vic", "viewer")
    made = await api.post("/schedule/feed-tokens", json={"label": "my calendar"}, headers=vic)
    assert made.status_code == 201, made.text
    url = made.json()["url"]

    async with httpx.AsyncClient(base_url=str(api.base_url)) as calendar_app:  # no token
        feed = await calendar_app.get(url)
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        assert created.json()["identifier"] in feed.text
        filtered = await calendar_app.get(url, params={"environment": "staging"})
        assert created.json()["identifier"] not in filtered.text

        listed = (await api.get("/schedule/feed-tokens", headers=vic)).json()
        assert [t["label"] for t in listed] == ["my calendar"]
        assert "url" not in listed[0]  # the secret is shown once only
        token_id = made.json()["token_id"]
        assert (
            await api.delete(f"/schedule/feed-tokens/{token_id}")
        ).status_code == 404  # rita's are others
        assert (
            await api.delete(f"/schedule/feed-tokens/{token_id}", headers=vic)
        ).status_code == 204
        assert (await calendar_app.get(url)).status_code == 404


async def test_a_feed_token_expires(
    api: httpx.AsyncClient, infra: Infra, release_settings: Settings
) -> None:
    made = await api.post("/schedule/feed-tokens", json={"label": "short", "valid_days": 1})
    secret = made.json()["url"].removeprefix("/schedule/feeds/").removesuffix(".ics")
    db = Database(release_settings.database_url, release_settings.db_schema, "probe")
    try:
        async with db.unit_of_work() as uow:
            now = datetime.now(UTC)
            assert await feed_tokens.holder(uow, secret, now) == "rita"
            assert await feed_tokens.holder(uow, secret, now + timedelta(days=2)) is None
    finally:
        await db.dispose()


@pytest.mark.parametrize(
    ("body", "field"), [({"label": ""}, "label"), ({"label": "x", "valid_days": 0}, "valid_days")]
)
async def test_bad_feed_tokens_are_refused_naming_the_field(
    api: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    answer = await api.post("/schedule/feed-tokens", json=body)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == field
