"""Notifications that arrive: a communication plan's entries at a real SMTP server, a real
chat webhook and the audience's inboxes; a failed deployment to the people in charge at
once; a refusing channel tried again, then given up; against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from ferry import signing
from ferry.db import Database
from ferry.events.deploy import (
    BackoutStepAwaitingConfirmation,
    DeploymentCompleted,
    DeploymentEvent,
    DeploymentFailed,
    DeploymentPausedOutsideWindow,
    DeploymentRolledBack,
)
from release_svc.config import Settings
from release_svc.main import spec
from tests.support.infra import Infra
from tests.support.receivers import Hook, Mailbox, http_receiver, smtp_server
from tests.support.services import eventually, publish, read_topic, serving, settings
from tests.support.stored import action, store_reviewed

TODAY = datetime.now(UTC).date()
SECRET = "chat-s3cret"


@dataclass
class Notifier:
    api: httpx.AsyncClient
    settings: Settings
    mailbox: Mailbox
    chat: Hook
    infra: Infra

    def as_(self, subject: str, role: str = "viewer") -> dict[str, str]:
        return self.infra.issuer.bearer(subject, role)

    async def inbox(self, subject: str, **query: Any) -> list[dict[str, Any]]:
        answer = await self.api.get("/notifications", params=query, headers=self.as_(subject))
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["items"]
        return items


@pytest.fixture
def receivers() -> Iterator[tuple[Mailbox, Hook]]:
    with smtp_server() as mailbox, http_receiver(500, 204) as chat:
        yield mailbox, chat


@pytest.fixture
async def notifier(
    infra: Infra, topic_prefix: str, receivers: tuple[Mailbox, Hook]
) -> AsyncIterator[Notifier]:
    mailbox, chat = receivers
    s = settings(
        Settings,
        infra,
        topic_prefix,
        communication_poll_seconds=0.2,
        notify_poll_seconds=0.2,
        notify_backoff_seconds=[0.2, 0.2],
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        smtp_from="ferry@example.com",
        notify_webhooks={"ops-chat": {"url": chat.url, "secret": SECRET}},
    )
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(spec(s), headers=rita) as api:
        yield Notifier(api, s, mailbox, chat, infra)


async def planned(n: Notifier, **plan: Any) -> dict[str, Any]:
    body = {
        "name": "Payments",
        "version": "2.0",
        "planned_start": str(TODAY + timedelta(days=3)),
        "planned_end": str(TODAY + timedelta(days=6)),
        **plan,
    }
    created = await n.api.post("/releases", json=body)
    assert created.status_code == 201, created.text
    return {**created.json(), "etag": created.headers["ETag"]}


async def test_a_communication_reaches_the_audience_by_email_chat_and_inbox(
    notifier: Notifier,
) -> None:
    n = notifier
    desk = {"members": ["sam"], "emails": ["desk@example.com"], "webhooks": ["ops-chat"]}
    defined = await n.api.put("/audiences/service-desk", json=desk)
    assert defined.status_code == 200, defined.text
    release = await planned(n)
    entries = [
        {
            "audience": "Service desk",
            "channel": channel,
            "message": f"Payments 2.0 goes live on Friday ({channel})",
            "milestone": "release_start",
            "offset": "-P7D",  # due four days ago: announced at the next look
        }
        for channel in ("email", "chat")
    ]
    plan = await n.api.put(
        f"/releases/{release['id']}/communication-plan",
        json={"entries": entries},
        headers={"If-Match": release["etag"]},
    )
    assert plan.status_code == 200, plan.text

    await eventually(lambda: _arrived(n), timeout=30, what="the email, the chat and the inbox")
    [mail] = n.mailbox.messages
    assert mail["To"] == "desk@example.com"
    assert mail["From"] == "ferry@example.com"
    assert mail["Subject"] == f"{release['identifier']}: Payments 2.0 goes live on Friday (email)"
    assert mail["Message-ID"].endswith("@ferry>")
    # The chat refused the first try (500) and took the second, the same message again.
    first, second = n.chat.received
    assert first[0] == second[0]
    assert first[1]["Idempotency-Key"] == second[1]["Idempotency-Key"]
    signing.verify(SECRET.encode(), second[0], second[1])
    assert "goes live on Friday (chat)" in json.loads(second[0])["text"]

    inbox = await n.inbox("sam")
    assert sorted(i["subject"] for i in inbox) == [
        f"{release['identifier']}: Payments 2.0 goes live on Friday ({channel})"
        for channel in ("chat", "email")
    ]
    read = await n.api.post(
        f"/notifications/{inbox[0]['notification_id']}/read", headers=n.as_("sam")
    )
    assert read.status_code == 200, read.text
    assert read.json()["read_at"] is not None
    assert len(await n.inbox("sam", unread="true")) == 1
    unasked = f"/notifications/{inbox[1]['notification_id']}/acknowledgement"
    assert (await n.api.post(unasked, headers=n.as_("sam"))).status_code == 409
    others = await n.api.post(
        f"/notifications/{inbox[1]['notification_id']}/read", headers=n.as_("tom")
    )
    assert others.status_code == 404
    assert await n.inbox("tom") == []

    published = await read_topic(n.infra.kafka, n.settings.topic("release.events"), expect=7)
    sent = [e for e in published if e.type == "NotificationSent"]
    assert sorted((e.data["channel"], e.data["recipient"]) for e in sent) == [
        ("email", "desk@example.com"),
        ("inbox", "sam"),
        ("inbox", "sam"),
        ("webhook", "ops-chat"),
    ]
    [chat_sent] = [e for e in sent if e.data["channel"] == "webhook"]
    assert chat_sent.data["attempts"] == 2
    assert n.chat.url not in json.dumps([e.data for e in published])


async def test_a_failed_deployment_tells_the_people_in_charge_at_once(notifier: Notifier) -> None:
    n = notifier
    release = await planned(n, owners=["bob"], escalation_contact="oncall@example.com")
    failed = DeploymentFailed(
        deployment_id=uuid4(),
        release_id=UUID(release["id"]),
        environment="production",
        reason="web-2: verification failed",
    )
    await publish(n.infra, n.settings.topic("deploy.events"), failed)

    async def told() -> bool:
        return bool(n.mailbox.messages) and all([await n.inbox("rita"), await n.inbox("bob")])

    await eventually(told, timeout=30, what="the contact, the manager and the owner told")
    [mail] = n.mailbox.messages
    assert mail["To"] == "oncall@example.com"
    assert "the deployment to production failed" in mail["Subject"]
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "web-2: verification failed" in payload.decode()
    [rita] = await n.inbox("rita")
    assert rita["release_id"] == release["id"]


async def test_a_channel_that_keeps_refusing_is_given_up_with_its_reason(
    infra: Infra, topic_prefix: str
) -> None:
    with http_receiver(503) as chat:
        s = settings(
            Settings,
            infra,
            topic_prefix,
            communication_poll_seconds=0.2,
            notify_poll_seconds=0.2,
            notify_backoff_seconds=[0.2],
            notify_webhooks={"ops-chat": {"url": chat.url, "secret": SECRET, "format": "teams"}},
        )
        async with serving(spec(s), headers=infra.issuer.bearer("rita", "release-manager")) as api:
            n = Notifier(api, s, Mailbox(0), chat, infra)
            await api.put("/audiences/ops", json={"webhooks": ["ops-chat"], "emails": ["a@b.io"]})
            release = await planned(n)
            entry = {
                "audience": "ops",
                "channel": "teams",
                "message": "Change freeze lifted",
                "milestone": "release_start",
                "offset": "-P7D",
            }
            await api.put(
                f"/releases/{release['id']}/communication-plan",
                json={"entries": [entry]},
                headers={"If-Match": release["etag"]},
            )
            published = await read_topic(infra.kafka, s.topic("release.events"), expect=4)
            followed = await api.get(f"/releases/{release['id']}/notifications")
    [delivery] = followed.json()["items"]
    assert (delivery["channel"], delivery["state"], delivery["attempts"]) == (
        "webhook",
        "failed",
        2,
    )
    assert delivery["last_error"] == "webhook ops-chat answered HTTP 503"
    [failed] = [e for e in published if e.type == "NotificationFailed"]
    assert (failed.data["attempts"], failed.data["reason"]) == (
        2,
        "webhook ops-chat answered HTTP 503",
    )
    assert len(chat.received) == 2
    assert json.loads(chat.received[0][0])["@type"] == "MessageCard"


async def _arrived(n: Notifier) -> bool:
    return (
        len(n.mailbox.messages) == 1
        and len(n.chat.received) == 2
        and len(await n.inbox("sam")) == 2
    )


async def test_an_overdue_action_is_told_to_its_owner_once_per_due_date(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(Settings, infra, topic_prefix, notify_poll_seconds=0.2, notify_look_seconds=0.2)
    async with serving(spec(s), headers=infra.issuer.bearer("rita", "release-manager")) as api:
        n = Notifier(api, s, Mailbox(0), Hook("", [204]), infra)
        late = action("brief the desk", "olga", TODAY - timedelta(days=2))
        db = Database(s.database_url, s.db_schema, "release-svc")
        try:
            await store_reviewed(db, [late, action("undated", "sam", None)], "REL-2026-0101")
        finally:
            await db.dispose()

        reminders = await eventually(lambda: n.inbox("olga"), what="olga reminded")
        [reminder] = reminders
        assert reminder["subject"] == f"REL-2026-0101: improvement action overdue since {late.due}"
        await asyncio.sleep(1)  # several more looks: still the one reminder
        assert len(await n.inbox("olga")) == 1
        assert await n.inbox("sam") == []

        path = f"/improvement-actions/{late.action_id}"
        etag = (await api.get(path)).headers["ETag"]
        moved = TODAY - timedelta(days=1)
        await api.put(
            f"{path}/assignment",
            json={"owner": "olga", "due": str(moved)},
            headers={"If-Match": etag},
        )
        again = await eventually(lambda: _two(n, "olga"), what="a reminder for the new due date")
        assert str(moved) in again[0]["subject"]


async def _two(n: Notifier, subject: str) -> list[dict[str, Any]] | None:
    found = await n.inbox(subject)
    return found if len(found) == 2 else None


async def test_a_window_about_to_close_undeployed_is_told_once(
    infra: Infra, topic_prefix: str
) -> None:
    s = settings(
        Settings,
        infra,
        topic_prefix,
        notify_poll_seconds=0.2,
        notify_look_seconds=0.2,
        notify_window_warning_minutes=30,
    )
    async with serving(spec(s), headers=infra.issuer.bearer("rita", "release-manager")) as api:
        n = Notifier(api, s, Mailbox(0), Hook("", [204]), infra)
        now = datetime.now(UTC)
        closing = {
            "environment": "production",
            "start": str(now - timedelta(hours=1)),
            "end": str(now + timedelta(minutes=10)),
        }
        later = {"environment": "staging", "start": str(now), "end": str(now + timedelta(hours=3))}
        release = await planned(
            n,
            owners=["bob"],
            planned_start=str(TODAY - timedelta(days=1)),
            planned_end=str(TODAY + timedelta(days=1)),
        )
        windows = await api.put(
            f"/releases/{release['id']}/windows",
            json={"windows": [closing, later]},
            headers={"If-Match": release["etag"]},
        )
        assert windows.status_code == 200, windows.text

        [told] = await eventually(lambda: n.inbox("bob"), what="bob told of the closing window")
        assert "production window closes at" in told["subject"]
        await asyncio.sleep(1)
        assert len(await n.inbox("bob")) == 1
        assert len(await n.inbox("rita")) == 1


async def test_a_communication_asking_for_it_is_acknowledged_once_by_its_recipient(
    notifier: Notifier,
) -> None:
    n = notifier
    await n.api.put("/audiences/ops", json={"members": ["olly", "otto"]})
    release = await planned(n)
    entry = {
        "audience": "ops",
        "channel": "inbox",
        "message": "Read the runbook before Friday",
        "milestone": "release_start",
        "offset": "-P7D",
        "acknowledge": True,
    }
    plan = await n.api.put(
        f"/releases/{release['id']}/communication-plan",
        json={"entries": [entry]},
        headers={"If-Match": release["etag"]},
    )
    assert plan.json()["communication_plan"][0]["acknowledge"] is True
    [olly] = await eventually(lambda: n.inbox("olly"), what="olly's notification")
    assert (olly["acknowledge"], olly["acknowledged_at"]) == (True, None)
    assert len(await n.inbox("otto", unacknowledged="true")) == 1

    path = f"/notifications/{olly['notification_id']}/acknowledgement"
    assert (await n.api.post(path, headers=n.as_("otto"))).status_code == 404
    acknowledged = await n.api.post(path, headers=n.as_("olly"))
    assert acknowledged.status_code == 200, acknowledged.text
    assert acknowledged.json()["acknowledged_at"] is not None
    assert acknowledged.json()["read_at"] is not None
    again = await n.api.post(path, headers=n.as_("olly"))
    assert again.json()["acknowledged_at"] == acknowledged.json()["acknowledged_at"]
    assert await n.inbox("olly", unacknowledged="true") == []
    assert len(await n.inbox("otto", unacknowledged="true")) == 1

    published = await read_topic(n.infra.kafka, n.settings.topic("release.events"), expect=7)
    [ack] = [e for e in published if e.type == "NotificationAcknowledged"]
    assert (ack.actor, ack.data["recipient"]) == ("olly", "olly")

    # The release's manager sees who has acknowledged.
    followed = await n.api.get(f"/releases/{release['id']}/notifications")
    assert followed.status_code == 200, followed.text
    seen = {
        d["recipient"]: (d["state"], d["acknowledged_at"] is not None)
        for d in followed.json()["items"]
    }
    assert seen == {"olly": ("sent", True), "otto": ("sent", False)}


def _completed(release_id: UUID, at: datetime) -> DeploymentEvent:
    ids = {"deployment_id": uuid4(), "release_id": release_id, "environment": "production"}
    return DeploymentCompleted(**ids, completed_at=at)


def _rolled_back(release_id: UUID, _: datetime) -> DeploymentEvent:
    return DeploymentRolledBack(
        deployment_id=uuid4(), release_id=release_id, environment="production"
    )


@pytest.mark.parametrize(
    ("milestone", "happened"),
    [("deployment_completed", _completed), ("deployment_rolled_back", _rolled_back)],
)
async def test_a_communication_timed_from_what_actually_happens_waits_for_it(
    notifier: Notifier,
    milestone: str,
    happened: Callable[[UUID, datetime], DeploymentEvent],
) -> None:
    n = notifier
    await n.api.put("/audiences/ops", json={"members": ["olly"]})
    release = await planned(n)
    entry = {
        "audience": "ops",
        "channel": "inbox",
        "message": f"Payments 2.0: {milestone}",
        "milestone": milestone,
        "offset": "PT0S",
    }
    plan = await n.api.put(
        f"/releases/{release['id']}/communication-plan",
        json={"entries": [entry]},
        headers={"If-Match": release["etag"]},
    )
    assert plan.status_code == 200, plan.text
    assert plan.json()["communication_plan"][0]["due_at"] is None
    await asyncio.sleep(1)  # several looks of the communications job: nothing due yet
    assert await n.inbox("olly") == []

    at = datetime.now(UTC).replace(microsecond=0)
    await publish(n.infra, n.settings.topic("deploy.events"), happened(UUID(release["id"]), at))
    [told] = await eventually(lambda: n.inbox("olly"), what=f"olly told of {milestone}")
    assert told["subject"].endswith(f": Payments 2.0: {milestone}")
    shown = (await n.api.get(f"/releases/{release['id']}")).json()["communication_plan"][0]
    due = datetime.fromisoformat(shown["due_at"])
    # Completed: at its completed_at; rolled back: when deploy-svc said so.
    assert due == at if milestone == "deployment_completed" else due >= at


async def test_a_deployment_paused_by_its_closed_window_tells_the_people_in_charge(
    notifier: Notifier,
) -> None:
    n = notifier
    release = await planned(n, owners=["bob"], escalation_contact="oncall@example.com")
    closed = datetime(2026, 12, 10, 23, 0, tzinfo=UTC)
    paused = DeploymentPausedOutsideWindow(
        deployment_id=uuid4(),
        release_id=UUID(release["id"]),
        environment="production",
        wave=1,
        window_end=closed,
    )
    await publish(n.infra, n.settings.topic("deploy.events"), paused)

    async def told() -> bool:
        return bool(n.mailbox.messages) and all([await n.inbox("rita"), await n.inbox("bob")])

    await eventually(told, timeout=30, what="the contact, the manager and the owner told")
    [mail] = n.mailbox.messages
    assert mail["To"] == "oncall@example.com"
    assert mail["Subject"].endswith("the deployment to production paused: its window closed")
    payload = mail.get_payload(decode=True)
    assert isinstance(payload, bytes)
    body = payload.decode()
    assert "Wave 2 did not start: the window closed at 2026-12-10 23:00 UTC" in body


async def test_a_backout_waiting_for_a_manual_step_tells_the_people_in_charge(
    notifier: Notifier,
) -> None:
    n = notifier
    release = await planned(n, owners=["bob"], escalation_contact="oncall@example.com")
    waiting = BackoutStepAwaitingConfirmation(
        deployment_id=uuid4(),
        release_id=UUID(release["id"]),
        environment="production",
        step=0,
        description="drain the payment queue",
    )
    await publish(n.infra, n.settings.topic("deploy.events"), waiting)
    await eventually(lambda: n.inbox("bob"), what="the owner told")
    [mail] = await eventually(lambda: _mails(n), what="the contact told")
    assert mail["Subject"].endswith("the backout in production waits for step 1")
    assert "drain the payment queue" in mail.get_payload(decode=True).decode()


async def _mails(n: Notifier) -> list[Any] | None:
    return list(n.mailbox.messages) or None
