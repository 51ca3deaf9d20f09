"""Notifications (#17). Attacks: someone but a release manager or an administrator
redirecting an audience's communications (adding their address or a webhook of their
own); naming a webhook the operator did not configure; reading or marking another person's
inbox (with a real notification in `tests/integration/test_notifications.py`); a webhook's
URL or key, or the SMTP password, written into an event.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest

from release_svc.config import Settings
from release_svc.main import spec
from tests.support.infra import Infra
from tests.support.receivers import smtp_server
from tests.support.services import read_topic, serving, settings

URL = "https://hooks.example/services/T000/B000/XXXXSECRETTOKEN"
KEY = "webhook-signing-key"
PASSWORD = "smtp-password-never-in-an-event"


@pytest.fixture
async def setup(
    infra: Infra, topic_prefix: str
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    s = settings(
        Settings,
        infra,
        topic_prefix,
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_username="ferry",
        smtp_password=PASSWORD,
        notify_webhooks={"ops-chat": {"url": URL, "secret": KEY}},
    )
    async with serving(spec(s), headers=infra.issuer.bearer("vic", "viewer")) as api:
        yield api, s


async def test_only_release_managers_and_admins_keep_the_directory(
    setup: tuple[httpx.AsyncClient, Settings], infra: Infra
) -> None:
    api, s = setup
    mine = {"emails": ["mallory@evil.example"], "webhooks": ["ops-chat"]}
    for role in ("viewer", "tester", "deployer", "operations", "change-authority", "auditor"):
        refused = await api.put(
            "/audiences/service-desk", json=mine, headers=infra.issuer.bearer("mal", role)
        )
        assert refused.status_code == 403, (role, refused.text)
    # A release manager of one team only redirects every team's communications: refused.
    scoped = await api.put(
        "/audiences/service-desk",
        json=mine,
        headers=infra.issuer.bearer("pam", "payments:release-manager"),
    )
    assert scoped.status_code == 403
    assert (await api.get("/audiences")).json() == []

    unknown = await api.put(
        "/audiences/service-desk",
        json={"webhooks": ["https://evil.example/hook"]},
        headers=infra.issuer.bearer("rita", "release-manager"),
    )
    assert unknown.status_code == 422
    rogue = await api.put(
        "/audiences/service-desk",
        json={"webhooks": ["mine"]},
        headers=infra.issuer.bearer("rita", "release-manager"),
    )
    assert (rogue.status_code, rogue.json()["errors"][0]["field"]) == (422, "webhooks.0")
    defined = await api.put(
        "/audiences/service-desk",
        json={"webhooks": ["ops-chat"], "members": ["sam"]},
        headers=infra.issuer.bearer("ada", "ferry-admin"),
    )
    assert defined.status_code == 200, defined.text
    published = await read_topic(infra.kafka, s.topic("release.events"), expect=1)
    text = json.dumps([e.model_dump(mode="json") for e in published])
    for secret in (URL, KEY, PASSWORD, "XXXXSECRETTOKEN"):
        assert secret not in text


async def test_an_inbox_is_its_owners_alone(
    setup: tuple[httpx.AsyncClient, Settings], infra: Infra
) -> None:
    api, _ = setup
    sams = await api.get("/notifications", headers=infra.issuer.bearer("sam", "viewer"))
    assert sams.json() == {"items": [], "next": None}
    someone = "00000000-0000-0000-0000-000000000001"
    refused = await api.post(
        f"/notifications/{someone}/read", headers=infra.issuer.bearer("sam", "auditor")
    )
    assert refused.status_code == 404
    assert refused.headers["Content-Type"] == "application/problem+json"


async def test_an_smtp_servers_text_is_not_kept_in_an_event(
    infra: Infra, topic_prefix: str
) -> None:
    with smtp_server(reply="550 mailbox full; internal relay token XYZZY-SECRET") as mailbox:
        s = settings(
            Settings,
            infra,
            topic_prefix,
            communication_poll_seconds=0.2,
            notify_poll_seconds=0.2,
            notify_backoff_seconds=[0.2],
            smtp_host="127.0.0.1",
            smtp_port=mailbox.port,
        )
        async with serving(spec(s), headers=infra.issuer.bearer("rita", "release-manager")) as api:
            await api.put("/audiences/desk", json={"emails": ["desk@example.com"]})
            start = date.today() + timedelta(days=3)
            plan = {
                "name": "P",
                "version": "1",
                "planned_start": str(start),
                "planned_end": str(start),
            }
            created = await api.post("/releases", json=plan)
            entry = {
                "audience": "desk",
                "channel": "email",
                "message": "Friday",
                "milestone": "release_start",
                "offset": "-P7D",
            }
            await api.put(
                f"/releases/{created.json()['id']}/communication-plan",
                json={"entries": [entry]},
                headers={"If-Match": created.headers["ETag"]},
            )
            published = await read_topic(infra.kafka, s.topic("release.events"), expect=5)
    [failed] = [e for e in published if e.type == "NotificationFailed"]
    assert failed.data["reason"] == "SMTP server answered 550"
    assert "XYZZY" not in json.dumps([e.model_dump(mode="json") for e in published])
