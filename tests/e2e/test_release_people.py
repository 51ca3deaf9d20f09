"""The people side of a release, with the four services as processes: communications that
arrive at a real SMTP server and a real chat webhook when the deployment actually happens,
the escalation contact told of a failure at once, production refused until the desk is
briefed, a review drafted from the record, and its improvement action done."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from ferry import signing
from tests.e2e.conftest import Start
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.journey import (
    available_release,
    local_target,
    production_of_local_targets,
    status_is,
)
from tests.support.receivers import Hook, Mailbox, http_receiver, smtp_server
from tests.support.services import eventually, read_topic

CHAT_KEY = "desk-chat-key"


@pytest.fixture
def receivers() -> Iterator[tuple[Mailbox, Hook]]:
    with smtp_server() as mailbox, http_receiver() as chat:
        yield mailbox, chat


@pytest.fixture
def stack(services: Start, receivers: tuple[Mailbox, Hook]) -> dict[str, str]:
    mailbox, chat = receivers
    return services(
        {
            "FERRY_SMTP_HOST": "127.0.0.1",
            "FERRY_SMTP_PORT": str(mailbox.port),
            "FERRY_NOTIFY_WEBHOOKS": json.dumps(
                {"desk-chat": {"url": chat.url, "secret": CHAT_KEY}}
            ),
            "FERRY_COMMUNICATION_POLL_SECONDS": "0.2",
            "FERRY_NOTIFY_POLL_SECONDS": "0.2",
            "FERRY_DEPLOY_LOCAL_PROGRAMS": '["test"]',
        }
    )


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def subjects(mailbox: Mailbox) -> list[tuple[str, str]]:
    return [(str(m["To"]), str(m["Subject"]).split(": ", 1)[1]) for m in mailbox.messages]


@pytest.mark.timeout(300)
async def test_communications_readiness_escalation_review_and_actions_reach_people(
    stack: dict[str, str],
    infra: Infra,
    topic_prefix: str,
    tmp_path: Path,
    receivers: tuple[Mailbox, Hook],
) -> None:
    mailbox, chat = receivers
    rita = infra.issuer.bearer("rita", "release-manager")
    async with httpx.AsyncClient(timeout=10, headers=rita) as client:
        for name, url in stack.items():
            await eventually(partial(ready, client, url), timeout=60, what=f"{name} ready")
        release, deploy, els = stack["release"], stack["deploy"], stack["els"]

        # The desk is an audience with a mailbox and a chat channel; minor releases need it
        # briefed before production.
        desk = {"members": ["sam"], "emails": ["desk@example.com"], "webhooks": ["desk-chat"]}
        assert (await client.put(f"{release}/audiences/service-desk", json=desk)).is_success
        policy = {
            "required_validations": ["functional", "integration"],
            "approvers": 1,
            "high_risk_approvers": 2,
            "readiness": ["service_desk_briefed"],
            "reason": "the desk briefed before go-live",
        }
        proposed = await client.put(
            f"{release}/policies/minor", json=policy, headers={"If-Match": '"0"'}
        )
        await approved(client, infra, proposed)

        now = datetime.now(UTC)
        window = {
            "environment": "production",
            "start": (now - timedelta(minutes=5)).isoformat(),
            "end": (now + timedelta(hours=2)).isoformat(),
        }
        told = [
            ("email", "deployment_started", "Payments 4 deployment has begun"),
            ("chat", "deployment_completed", "Payments 4 is live"),
        ]
        communications = [
            {
                "audience": "service desk",
                "channel": c,
                "message": m,
                "milestone": at,
                "offset": "PT0S",
            }
            for c, at, m in told
        ]
        plan = {
            "name": "Payments 4",
            "version": "4.0.0",
            "planned_start": str(now.date()),
            "planned_end": str(now.date() + timedelta(days=30)),
            "escalation_contact": "oncall@example.com",
        }
        parts: dict[str, dict[str, Any]] = {
            "windows": {"windows": [window]},
            "backout-plan": {"trigger_conditions": ["errors"], "steps": [{"kind": "rollback"}]},
            "communication-plan": {"entries": communications},
        }
        path = await available_release(client, stack, infra, plan, parts)
        release_id = path.rsplit("/", 1)[1]
        healthy = tmp_path / "healthy"
        web = local_target("web-1", tmp_path, verify_command=["test", "-f", str(healthy)])
        await production_of_local_targets(client, deploy, infra, web)

        dora = infra.issuer.bearer("dora", "deployer")
        plan_body = {"release_id": release_id, "environment": "production"}

        async def refused_for_readiness() -> httpx.Response | None:
            answer = await client.post(f"{deploy}/deployments", json=plan_body, headers=dora)
            return answer if answer.status_code == 409 else None

        refused = await eventually(refused_for_readiness, what="deploy-svc to know the release")
        assert refused.json()["readiness"] == ["service_desk_briefed"], refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert mailbox.messages == []  # nothing has happened yet
        assert chat.received == []

        shown = await client.get(f"{path}/readiness")
        olly = infra.issuer.bearer("olly", "operations")
        briefed = {"item": "service_desk_briefed", "evidence": "https://wiki/desk-brief-4"}
        confirmed = await client.post(
            f"{path}/readiness",
            json=briefed,
            headers={**olly, "If-Match": shown.headers["ETag"]},
        )
        assert confirmed.status_code == 200, confirmed.text

        async def deployed() -> httpx.Response | None:
            answer = await client.post(f"{deploy}/deployments", json=plan_body, headers=dora)
            return answer if answer.status_code == 201 else None

        # The first attempt's verification fails: web-1 is not healthy yet.
        first = await eventually(deployed, what="production once readiness is confirmed")

        async def failed() -> bool:
            found = await client.get(f"{deploy}/deployments/{first.json()['id']}", headers=dora)
            return found.json()["state"] in ("failed", "rolled_back")

        await eventually(failed, timeout=60, what="the first deployment to fail")

        def to_contact() -> list[Any]:
            return [m for m in mailbox.messages if m["To"] == "oncall@example.com"]

        async def escalated() -> bool:
            return len(to_contact()) == 2

        await eventually(escalated, timeout=30, what="the escalation contact told")
        # Told as the backout begins, with why, and once it is done.
        backout = {str(m["Subject"]).split(": ", 1)[1]: m for m in to_contact()}
        assert sorted(backout) == [
            "the deployment to production is being rolled back",
            "the deployment to production was rolled back",
        ]
        why = backout["the deployment to production is being rolled back"]
        assert "verification" in why.get_payload(decode=True).decode()
        # Begun: the desk's email goes out (by the communications job, on its own clock, so
        # not necessarily before the escalation); not live: its chat message waits.
        begun = ("desk@example.com", "Payments 4 deployment has begun")

        async def desk_told() -> bool:
            return begun in subjects(mailbox)

        await eventually(desk_told, timeout=30, what="the desk's email that it has begun")
        assert chat.received == []

        healthy.write_text("ok")
        await eventually(deployed, what="the second deployment")

        async def live() -> bool:
            return bool(chat.received)

        await eventually(live, timeout=60, what="the desk's chat told it is live")
        [(body, headers)] = chat.received
        signing.verify(CHAT_KEY.encode(), body, headers)
        assert "Payments 4 is live" in json.loads(body)["text"]
        await eventually(
            lambda: status_is(client, path, "in_early_life_support"), timeout=60, what="ELS"
        )

        # Early Life Support: an incident, the desk's feedback, operations take it over.
        async def case() -> dict[str, Any] | None:
            found = (await client.get(f"{els}/cases", params={"release_id": release_id})).json()
            return found[0] if found else None

        opened = await eventually(case, what="the ELS case")
        cases = f"{els}/cases/{opened['id']}"
        incident = await client.post(
            f"{cases}/incidents", json={"reference": "INC-41"}, headers=olly
        )
        assert incident.status_code == 200, incident.text
        feedback = await client.post(
            f"{cases}/feedback",
            json={"rating": 4, "comment": "briefed in time"},
            headers=infra.issuer.bearer("sam", "operations"),
        )
        assert feedback.status_code == 200, feedback.text
        exited = await client.post(
            f"{cases}/exit",
            json={"override_reason": "quiet first day; operations accept"},
            headers={**olly, "If-Match": feedback.headers["ETag"]},
        )
        assert exited.status_code == 200, exited.text
        waiting = await eventually(
            lambda: status_is(client, path, "ready_for_review"), what="the review awaited"
        )

        async def drafted() -> dict[str, Any] | None:
            draft: dict[str, Any] = (await client.get(f"{path}/review/draft")).json()
            whole = draft["els_duration_days"] is not None and len(draft["deployments"]) == 2
            return draft if whole and draft["feedback"] else None

        draft = await eventually(drafted, what="the draft to hold the record")
        assert (draft["incidents_during_els"], draft["incidents"]) == (1, ["INC-41"])
        assert 0 <= draft["els_duration_days"] < 1
        assert draft["satisfaction"] == 4
        outcomes = [d["outcome"] for d in draft["deployments"]]
        assert outcomes[0] in ("failed", "rolled_back"), draft
        assert outcomes[1] == "completed", draft

        due = str(now.date() + timedelta(days=14))
        action = {"description": "make web-1 healthy before switching", "owner": "olga", "due": due}
        reviewed = await client.post(
            f"{path}/review",
            json={"objectives_met": True, "actions": [action]},
            headers={"If-Match": waiting.headers["ETag"]},
        )
        assert reviewed.status_code == 200, reviewed.text
        assert reviewed.json()["review"]["incidents_during_els"] == 1

        async def raised() -> dict[str, Any] | None:
            found = await client.get(f"{release}/improvement-actions", params={"owner": "olga"})
            items: list[dict[str, Any]] = found.json()["items"]
            return items[0] if items else None

        item = await eventually(raised, what="the action listed")
        assert (item["state"], item["release_id"]) == ("open", release_id)
        olga = infra.issuer.bearer("olga", "tester")
        etag = f'"{item["version"]}"'
        for state in ("in_progress", "done"):
            moved = await client.put(
                f"{release}/improvement-actions/{item['action_id']}/state",
                json={"state": state},
                headers={**olga, "If-Match": etag},
            )
            assert moved.status_code == 200, moved.text
            etag = moved.headers["ETag"]
        assert moved.json()["state"] == "done"

        # Each delivery once, by its message id.
        events = await read_topic(infra.kafka, f"{topic_prefix}release.events", expect=20)
        sent = [e.data for e in events if e.type == "NotificationSent"]
        assert len({d["notification_id"] for d in sent}) == len(sent)
        ids = [m["Message-ID"] for m in mailbox.messages]
        assert len(set(ids)) == len(ids)
