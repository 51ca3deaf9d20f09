"""release-svc killed (`kill -9`) while its notifier waits for an SMTP server to accept an
email, and started again: the email is sent again under the same message id, so the
receiver holds one message, and the delivery is recorded once."""

from __future__ import annotations

import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from ferry.devports import free_port
from tests.support.infra import Infra
from tests.support.receivers import smtp_server
from tests.support.services import Process, eventually, read_topic, unique


async def ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.timeout(180)
async def test_an_email_cut_off_by_a_kill_is_sent_again_under_its_message_id(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    with smtp_server(delay=4) as mailbox:
        env = {
            "FERRY_DATABASE_URL": infra.database_url,
            "FERRY_TOPIC_PREFIX": topic_prefix,
            "FERRY_RELEASE_PORT": str(port),
            "FERRY_RELEASE_DB_SCHEMA": unique("e2e_notify"),
            "FERRY_COMMUNICATION_POLL_SECONDS": "0.2",
            "FERRY_NOTIFY_POLL_SECONDS": "0.2",
            "FERRY_NOTIFY_LEASE_SECONDS": "2",
            "FERRY_SMTP_HOST": "127.0.0.1",
            "FERRY_SMTP_PORT": str(mailbox.port),
            **infra.auth_env(),
            **infra.signing_env("release-svc"),
            **infra.kafka_env("release-svc"),
        }
        rita = infra.issuer.bearer("rita", "release-manager")
        first = Process("release_svc", env, tmp_path / "release-svc-1.log")
        second: Process | None = None
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", headers=rita, timeout=10
            ) as api:
                await eventually(lambda: ready(api), timeout=60, what="release-svc ready")
                desk = {"emails": ["desk@example.com"]}
                assert (await api.put("/audiences/service-desk", json=desk)).status_code == 200
                start = datetime.now(UTC).date() + timedelta(days=3)
                created = await api.post(
                    "/releases",
                    json={
                        "name": "Payments",
                        "version": "3.0",
                        "planned_start": str(start),
                        "planned_end": str(start + timedelta(days=2)),
                    },
                )
                entry = {
                    "audience": "service desk",
                    "channel": "email",
                    "message": "Payments 3.0 goes live on Friday",
                    "milestone": "release_start",
                    "offset": "-P7D",
                }
                planned = await api.put(
                    f"/releases/{created.json()['id']}/communication-plan",
                    json={"entries": [entry]},
                    headers={"If-Match": created.headers["ETag"]},
                )
                assert planned.status_code == 200, planned.text

                async def in_flight() -> bool:
                    return bool(mailbox.messages)

                # The server has the message and has not yet said so: the notifier waits.
                await eventually(in_flight, timeout=30, what="the email's data at the server")
                first.proc.send_signal(signal.SIGKILL)
                first.proc.wait(timeout=10)
                assert first.proc.returncode == -signal.SIGKILL

                second = Process("release_svc", env, tmp_path / "release-svc-2.log")
                await eventually(lambda: ready(api), timeout=60, what="release-svc ready again")

                async def recorded() -> list[str] | None:
                    events = await read_topic(
                        infra.kafka, f"{topic_prefix}release.events", expect=6, settle=1
                    )
                    sent = [e.id for e in events if e.type == "NotificationSent"]
                    return [str(i) for i in sent] or None

                sent = await eventually(recorded, timeout=60, what="the delivery recorded")
        finally:
            first.stop()
            if second is not None:
                second.stop()
    assert len(sent) == 1, sent
    # Sent twice over the wire, the second time after the kill; one message by its id.
    assert len(mailbox.messages) == 2
    assert len({m["Message-ID"] for m in mailbox.messages}) == 1
    assert mailbox.messages[0]["Subject"].endswith(": Payments 3.0 goes live on Friday")
