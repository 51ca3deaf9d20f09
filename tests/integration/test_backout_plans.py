"""A release's own backout plan, run by deploy-svc step by step: the driver's rollback, a
signed webhook, a manual step confirmed through the API; triggered by a failed verification
or an Early Life Support metric's escalation. Against a real dml-svc and deploy-svc,
PostgreSQL and Kafka, and a real HTTP receiver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ferry import signing
from ferry.events.els import ElsEscalated
from ferry.events.release import (
    BackoutPlanSet,
    BackoutStep,
    BackoutStepKind,
    BackoutTrigger,
    TriggerKind,
)
from tests.integration.test_deployments import TARGETS, Stack, define, deploy_stack
from tests.support.infra import Infra
from tests.support.receivers import Hook, http_receiver
from tests.support.services import eventually, publish, read_topic

KEY = "flags-key"


@pytest.fixture
def flags() -> Iterator[Hook]:
    with http_receiver(200) as hook:
        yield hook


@pytest.fixture
async def stack(
    infra: Infra, topic_prefix: str, tmp_path: Path, flags: Hook
) -> AsyncIterator[Stack]:
    hooks = {"flags": {"url": flags.url, "secret": KEY}}
    async with deploy_stack(infra, topic_prefix, tmp_path, backout_webhooks=hooks) as found:
        yield found


async def with_plan(stack: Stack, release_id: UUID, *steps: BackoutStep, **trigger: Any) -> None:
    plan = BackoutPlanSet(
        release_id=release_id,
        trigger_conditions=[BackoutTrigger(**trigger)],
        steps=list(steps),
    )
    await publish(stack.infra, stack.release_topic, plan)


async def deployment(stack: Stack, path: str, done: Any) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        body: dict[str, Any] = (await stack.deploy.get(path)).json()
        return body if done(body) else None

    return await eventually(reached, timeout=60, what="the deployment to get there")


async def test_a_failed_verification_runs_the_plan_pausing_at_its_manual_step(
    stack: Stack, flags: Hook
) -> None:
    await define(stack, fail_on="7.0.0")
    release_id = await stack.release("7.0.0")
    await with_plan(
        stack,
        release_id,
        BackoutStep(kind=BackoutStepKind.MANUAL, description="drain the payment queue"),
        BackoutStep(kind=BackoutStepKind.ROLLBACK),
        BackoutStep(kind=BackoutStepKind.WEBHOOK, webhook="flags", description="flag off"),
        kind=TriggerKind.VERIFICATION_FAILED,
    )
    planned = await stack.plan(release_id)  # web-3's verification refuses 7.0.0
    assert planned.status_code == 201, planned.text
    path = f"/deployments/{planned.json()['id']}"
    waiting = await deployment(stack, path, lambda d: d["awaiting_step"] == 0)
    assert (waiting["state"], waiting["paused"]) == ("rolling_back", True)
    assert [s["kind"] for s in waiting["backout"]] == ["manual", "rollback", "webhook"]
    assert stack.live("web-1") == "7.0.0"  # nothing is switched back before the queue drains
    assert flags.received == []

    olly = stack.infra.issuer.bearer("olly", "deployer")
    etag = (await stack.deploy.get(path)).headers["ETag"]
    early = await stack.deploy.post(
        f"{path}/backout/1/confirm", json={"note": "?"}, headers={**olly, "If-Match": etag}
    )
    assert early.status_code == 409, early.text
    confirmed = await stack.deploy.post(
        f"{path}/backout/0/confirm",
        json={"note": "queue drained at 22:41"},
        headers={**olly, "If-Match": etag},
    )
    assert confirmed.status_code == 200, confirmed.text
    done = await deployment(stack, path, lambda d: d["state"] == "rolled_back")
    assert done["backout_done"] == [0, 1, 2]
    assert {stack.live(t) for t in TARGETS} == {None}  # back to what was there: nothing

    [(body, headers)] = flags.received
    signing.verify(KEY.encode(), body, headers)
    assert headers["Idempotency-Key"] == f"{done['id']}-backout-2"
    assert json.loads(body)["version"] == "7.0.0"
    events = await read_topic(
        stack.infra.kafka, stack.deploy_settings.topic("deploy.events"), expect=12, settle=0.5
    )
    mine = [e for e in events if e.data.get("deployment_id") == done["id"]]
    steps = [e.data for e in mine if e.type == "BackoutStepDone"]
    assert [(s["step"], s["kind"], s["by"]) for s in steps] == [
        (0, "manual", "olly"),
        (1, "rollback", "service:deploy-svc"),
        (2, "webhook", "service:deploy-svc"),
    ]
    assert steps[0]["note"] == "queue drained at 22:41"
    assert steps[2]["note"] == "webhook flags answered HTTP 200"
    assert flags.url not in json.dumps([e.data for e in mine])  # the URL is the operator's


async def test_an_els_escalation_on_a_trigger_metric_rolls_the_deployment_back(
    stack: Stack,
) -> None:
    await define(stack)
    release_id = await stack.release("8.0.0")
    await with_plan(
        stack,
        release_id,
        BackoutStep(kind=BackoutStepKind.ROLLBACK),
        kind=TriggerKind.METRIC,
        metric="error_rate",
    )
    planned = await stack.plan(release_id)
    path = f"/deployments/{planned.json()['id']}"
    await deployment(stack, path, lambda d: d["state"] == "completed")
    assert stack.live("web-1") == "8.0.0"

    case = {"case_id": release_id, "release_id": release_id, "environment": "production"}
    now = datetime.now(UTC)
    on_els = stack.deploy_settings.topic("els.events")
    other = ElsEscalated(
        **case, metric="desk_calls", period_start=now, value=9, limit=5, contact="x"
    )
    await publish(stack.infra, on_els, other)  # not a trigger of this plan
    errors = ElsEscalated(
        **case, metric="error_rate", period_start=now, value=7, limit=2, contact="x"
    )
    await publish(stack.infra, on_els, errors)
    done = await deployment(stack, path, lambda d: d["state"] == "rolled_back")
    assert "error_rate was 7, over its limit of 2" in done["reason"]
    assert stack.live("web-1") is None
