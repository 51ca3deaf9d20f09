"""Deployments with the `local` driver, against a real dml-svc and deploy-svc, PostgreSQL
and Kafka: release-svc's side of the conversation is published on its topic as it would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.events.deploy import Strategy
from ferry.events.policy import FreezePeriodDeclared
from ferry.events.release import (
    Level,
    ReadinessConfirmed,
    ReadinessItem,
    ReleaseDependenciesSet,
    RiskRule,
)
from ferry.events.team import TeamDefined
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.published import MEDIA, approved_release
from tests.support.services import eventually, publish, read_topic, serving, settings

TARGETS = ["web-1", "web-2", "web-3", "web-4"]


@dataclass
class Stack:
    infra: Infra
    dml: httpx.AsyncClient
    deploy: httpx.AsyncClient
    release_topic: str
    deploy_settings: DeploySettings
    root: Path

    def live(self, target: str) -> str | None:
        current = self.root / target / "current"
        return current.resolve().name if current.is_symlink() else None

    async def release(self, version: str, **plan: Any) -> UUID:
        return await approved_release(self.infra, self.dml, self.release_topic, version, **plan)

    async def plan(self, release_id: UUID, **body: Any) -> httpx.Response:
        """POST a plan once deploy-svc has learnt the release is available."""
        request = {"release_id": str(release_id), "environment": "production", **body}

        async def answered() -> httpx.Response | None:
            answer = await self.deploy.post("/deployments", json=request)
            pending = answer.status_code in (409, 422) and (
                "not available" in answer.text or "not heard" in answer.text
            )
            return None if pending else answer

        return await eventually(answered, what="deploy-svc to learn of the release")

    async def finished(self, deployment_id: str) -> dict[str, Any]:
        async def done() -> dict[str, Any] | None:
            body: dict[str, Any] = (await self.deploy.get(f"/deployments/{deployment_id}")).json()
            return body if body["state"] in ("completed", "failed", "rolled_back") else None

        return await eventually(done, timeout=60, what="the deployment to finish")


@asynccontextmanager
async def deploy_stack(
    infra: Infra, topic_prefix: str, tmp_path: Path, **deploy: Any
) -> AsyncIterator[Stack]:
    """A dml-svc and a deploy-svc (its settings `deploy` over the test's), serving."""
    dml_settings = settings(
        DmlSettings, infra, topic_prefix, media_dir=tmp_path / "dml", scrub_interval_seconds=0
    )
    token = tmp_path / "deploy-svc.token"
    token.write_text(infra.issuer.mint("deploy-svc", ["deployer", "tester"]))
    librarian = infra.issuer.bearer("lib", "dml-librarian")
    async with serving(dml_spec(dml_settings), headers=librarian) as dml:
        options: dict[str, Any] = {
            "dml_url": str(dml.base_url).rstrip("/"),
            "dml_token_file": token,
            "work_dir": tmp_path / "work",
            "lease_seconds": 3,
            "executor_poll_seconds": 0.2,
            # The operator's limits: local targets under the test's folder, run these checks.
            "drivers": ["local"],
            "local_roots": [tmp_path / "targets"],
            "local_programs": ["test", "sh"],
        }
        deploy_settings = settings(DeploySettings, infra, topic_prefix, **(options | deploy))
        dora = infra.issuer.bearer("dora", "deployer")
        async with serving(deploy_spec(deploy_settings), headers=dora) as deploy_api:
            root = tmp_path / "targets"
            yield Stack(
                infra, dml, deploy_api, f"{topic_prefix}release.events", deploy_settings, root
            )


@pytest.fixture
async def stack(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with deploy_stack(infra, topic_prefix, tmp_path) as found:
        yield found


async def define(stack: Stack, fail_on: str | None = None) -> None:
    """Production: four local targets; `fail_on` a version web-3's verification refuses."""
    targets = []
    for name in TARGETS:
        check = ["test", "-f", MEDIA]
        if name == "web-3" and fail_on:
            check = ["sh", "-c", f'test "$FERRY_RELEASE_VERSION" != "{fail_on}"']
        settings = {"path": str(stack.root / name), "verify_command": check}
        targets.append({"name": name, "driver": "local", "settings": settings})
    current = await stack.deploy.get("/environments/production")
    headers = {"If-Match": current.headers["ETag"]} if current.status_code == 200 else {}
    answer = await stack.deploy.put(
        "/environments/production",
        json={"production": True, "targets": targets, "reason": "the web tier"},
        headers=headers,
    )
    await approved(stack.deploy, stack.infra, answer)


async def test_a_phased_deployment_makes_the_version_live_everywhere(stack: Stack) -> None:
    await define(stack)
    release_id = await stack.release("1.0.0")
    planned = await stack.plan(release_id, strategy={"kind": "phased", "sizes": [1, 2]})
    assert planned.status_code == 201, planned.text
    assert [w["targets"] for w in planned.json()["waves"]] == [
        ["web-1"],
        ["web-2", "web-3"],
        ["web-4"],
    ]
    done = await stack.finished(planned.json()["id"])
    assert done["state"] == "completed"
    assert {t: stack.live(t) for t in TARGETS} == dict.fromkeys(TARGETS, "1.0.0")
    events = await read_topic(
        stack.infra.kafka,
        stack.deploy_settings.topic("deploy.events"),
        expect=11,
        settle=0.5,
    )
    mine = [e for e in events if e.data.get("deployment_id") == planned.json()["id"]]
    assert [e.type for e in mine].count("TargetDeployed") == 4
    completed = mine[-1]
    assert completed.type == "DeploymentCompleted"
    assert (completed.data["services"], completed.data["deployed_by"]) == (["payments"], "dora")


async def test_a_target_failing_verification_rolls_every_target_back(stack: Stack) -> None:
    await define(stack, fail_on="2.0.0")
    first = await stack.plan(await stack.release("1.0.0"))
    assert (await stack.finished(first.json()["id"]))["state"] == "completed"
    second = await stack.plan(
        await stack.release("2.0.0"), strategy={"kind": "phased", "sizes": [2]}
    )
    done = await stack.finished(second.json()["id"])
    assert done["state"] == "rolled_back"
    assert "web-3" in done["failed"]
    assert {t: stack.live(t) for t in TARGETS} == dict.fromkeys(TARGETS, "1.0.0")


async def test_plans_the_rules_forbid_are_refused_naming_why(stack: Stack) -> None:
    await define(stack)
    release_id = await stack.release("1.0.0")
    late = datetime.now(UTC) + timedelta(hours=5)
    outside = await stack.plan(release_id, scheduled_start=late.isoformat())
    assert (outside.status_code, outside.json()["errors"][0]["field"]) == (422, "scheduled_start")
    carl = await stack.deploy.post(
        "/deployments",
        json={"release_id": str(release_id), "environment": "production"},
        headers=stack.infra.issuer.bearer("carl", "deployer"),
    )
    assert (carl.status_code, carl.json()["rule"]) == (403, "approver-cannot-deploy-to-production")
    # A later start holds the targets; a second plan for them is refused.
    soon = datetime.now(UTC) + timedelta(minutes=30)
    held = await stack.plan(release_id, scheduled_start=soon.isoformat())
    assert held.status_code == 201, held.text
    second = await stack.plan(release_id)
    assert second.status_code == 409
    assert "held by" in second.json()["detail"]
    abort = await stack.deploy.post(
        f"/deployments/{held.json()['id']}/abort",
        json={"reason": "testing"},
        headers={"If-Match": held.headers["ETag"]},
    )
    assert abort.json()["state"] == "aborted"

    dependency = uuid4()
    await publish(
        stack.infra,
        stack.release_topic,
        ReleaseDependenciesSet(release_id=release_id, depends_on=[dependency]),
    )
    await eventually(
        lambda: _refused(stack, release_id, "not yet deployed"), what="the dependency rule"
    )
    await publish(
        stack.infra,
        stack.release_topic,
        ReleaseDependenciesSet(release_id=release_id, depends_on=[]),
    )
    freeze = FreezePeriodDeclared(
        freeze_id=uuid4(),
        start=datetime.now(UTC) - timedelta(hours=1),
        end=datetime.now(UTC) + timedelta(hours=1),
        reason="board meeting",
        environments=[],
        services=[],
    )
    await publish(stack.infra, stack.release_topic, freeze)
    await eventually(lambda: _refused(stack, release_id, "board meeting"), what="the freeze")


async def test_production_waits_until_release_svc_confirms_readiness(stack: Stack) -> None:
    await define(stack)
    ops = ReadinessItem.OPERATIONS_ACCEPTANCE
    release_id = await stack.release("1.2.0", readiness=[ops])
    refused = await stack.plan(release_id)
    assert refused.status_code == 409, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["readiness"] == ["operations_acceptance"]
    confirmed = ReadinessConfirmed(release_id=release_id, item=ops, evidence="signed", by="olly")
    await publish(stack.infra, stack.release_topic, confirmed)
    accepted = await eventually(
        lambda: _accepted(stack, release_id), what="the plan accepted once ready"
    )
    assert accepted.json()["state"] in ("scheduled", "running", "completed")


async def _accepted(stack: Stack, release_id: UUID) -> httpx.Response | None:
    answer = await stack.plan(release_id)
    return answer if answer.status_code == 201 else None


async def test_a_revoked_or_tampered_release_touches_no_target(stack: Stack) -> None:
    await define(stack)
    tampered = await stack.release("3.0.0")
    blob = next(
        p
        for p in (Path(str(stack.deploy_settings.work_dir)).parent / "dml" / "blobs").rglob("*")
        if p.is_file() and p.parent.name != "incoming"
    )
    blob.write_bytes(b"x" + blob.read_bytes()[1:])
    planned = await stack.plan(tampered)
    done = await stack.finished(planned.json()["id"])
    assert done["state"] == "failed"
    assert "did not verify" in done["reason"]
    assert all(stack.live(t) is None for t in TARGETS)

    revoked = await stack.release("4.0.0")
    entry = await eventually(
        lambda: _available(stack, revoked), what="the DML to make it available"
    )
    answer = await stack.dml.post(
        f"/library/releases/{revoked}/revoke",
        json={"reason": "CVE"},
        headers={"If-Match": entry.headers["ETag"]},
    )
    assert answer.status_code == 200
    await eventually(lambda: _refused(stack, revoked, "revoked"), what="the revocation")


async def _refused(stack: Stack, release_id: UUID, why: str) -> bool:
    # Starting later, so that a plan accepted while the rule is not yet known runs nothing.
    later = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    body = {"release_id": str(release_id), "environment": "production", "scheduled_start": later}
    answer = await stack.deploy.post("/deployments", json=body)
    if answer.status_code == 201:  # not refused (yet): take it back
        await stack.deploy.post(
            f"/deployments/{answer.json()['id']}/abort",
            json={"reason": "probe"},
            headers={"If-Match": answer.headers["ETag"]},
        )
        return False
    return why in answer.text


async def _available(stack: Stack, release_id: UUID) -> httpx.Response | None:
    entry = await stack.dml.get(f"/library/releases/{release_id}")
    return entry if entry.status_code == 200 and entry.json()["state"] == "available" else None


async def test_pause_resume_and_a_manual_rollback(stack: Stack) -> None:
    await define(stack)
    first = await stack.plan(await stack.release("1.0.0"))
    assert (await stack.finished(first.json()["id"]))["state"] == "completed"
    planned = await stack.plan(
        await stack.release("2.0.0"),
        strategy={"kind": "canary", "canary": 1, "soak_seconds": 2},
    )
    path = f"/deployments/{planned.json()['id']}"

    async def soaking() -> httpx.Response | None:
        answer = await stack.deploy.get(path)
        return answer if answer.json()["deployed"] == ["web-1"] else None

    current = await eventually(soaking, what="the canary to be deployed")
    paused = await stack.deploy.post(f"{path}/pause", headers={"If-Match": current.headers["ETag"]})
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True
    stale = await stack.deploy.post(f"{path}/resume", headers={"If-Match": current.headers["ETag"]})
    assert stale.status_code == 409
    await asyncio.sleep(3)  # longer than the soak: a running deployment would have moved on
    still = (await stack.deploy.get(path)).json()
    assert (still["deployed"], still["verified_waves"]) == (["web-1"], [])
    resumed = await stack.deploy.post(
        f"{path}/resume", headers={"If-Match": paused.headers["ETag"]}
    )
    assert resumed.json()["paused"] is False
    assert (await stack.finished(planned.json()["id"]))["state"] == "completed"
    assert {t: stack.live(t) for t in TARGETS} == dict.fromkeys(TARGETS, "2.0.0")

    done = await stack.deploy.get(path)
    back = await stack.deploy.post(
        f"{path}/rollback",
        json={"reason": "payments errors"},
        headers={"If-Match": done.headers["ETag"]},
    )
    assert back.status_code == 200, back.text
    assert (await stack.finished(planned.json()["id"]))["state"] == "rolled_back"
    assert {t: stack.live(t) for t in TARGETS} == dict.fromkeys(TARGETS, "1.0.0")


async def test_a_revoked_release_can_still_be_rolled_back(stack: Stack) -> None:
    await define(stack)
    first = await stack.plan(await stack.release("1.0.0"))
    assert (await stack.finished(first.json()["id"]))["state"] == "completed"
    bad = await stack.release("2.0.0")
    second = await stack.plan(bad)
    assert (await stack.finished(second.json()["id"]))["state"] == "completed"
    entry = await eventually(lambda: _available(stack, bad), what="the DML entry")
    revoked = await stack.dml.post(
        f"/library/releases/{bad}/revoke",
        json={"reason": "CVE found"},
        headers={"If-Match": entry.headers["ETag"]},
    )
    assert revoked.status_code == 200
    path = f"/deployments/{second.json()['id']}"
    current = await stack.deploy.get(path)
    back = await stack.deploy.post(
        f"{path}/rollback",
        json={"reason": "CVE found"},
        headers={"If-Match": current.headers["ETag"]},
    )
    assert back.status_code == 200, back.text
    assert (await stack.finished(second.json()["id"]))["state"] == "rolled_back"
    assert {t: stack.live(t) for t in TARGETS} == dict.fromkeys(TARGETS, "1.0.0")


async def test_a_freeze_declared_after_planning_stops_the_start(stack: Stack) -> None:
    await define(stack)
    release_id = await stack.release("5.0.0")
    soon = (datetime.now(UTC) + timedelta(seconds=6)).isoformat()
    planned = await stack.plan(release_id, scheduled_start=soon)
    assert planned.status_code == 201, planned.text
    freeze = FreezePeriodDeclared(
        freeze_id=uuid4(),
        start=datetime.now(UTC),
        end=datetime.now(UTC) + timedelta(hours=1),
        reason="incident in progress",
        environments=["production"],
        services=[],
    )
    await publish(stack.infra, stack.release_topic, freeze)
    done = await stack.finished(planned.json()["id"])
    assert done["state"] == "failed"
    assert "incident in progress" in done["reason"]
    assert all(stack.live(t) is None for t in TARGETS)


async def test_a_long_soak_holds_up_no_other_deployment(stack: Stack) -> None:
    await define(stack)
    release_id = await stack.release("6.0.0")
    slow = await stack.plan(
        release_id, targets=["web-1"], strategy={"kind": "big_bang", "soak_seconds": 30}
    )
    assert slow.status_code == 201, slow.text
    fast = await stack.plan(release_id, targets=["web-2"])
    assert fast.status_code == 201, fast.text
    done = await stack.finished(fast.json()["id"])
    assert done["state"] == "completed", done
    still = (await stack.deploy.get(f"/deployments/{slow.json()['id']}")).json()
    assert still["state"] == "running"  # soaking: the other finished meanwhile


async def test_the_list_shows_a_teams_callers_its_teams_deployments(stack: Stack) -> None:
    await define(stack)
    planned = await stack.plan(await stack.release("1.0.0"))
    assert planned.status_code == 201, planned.text
    teams = [
        TeamDefined(team="payments", environments=["production"]),
        TeamDefined(team="identity", environments=["staging"]),
    ]
    await publish(stack.infra, stack.release_topic, *teams)

    async def listed(role: str, **params: str) -> list[str]:
        headers = stack.infra.issuer.bearer("vic", role)
        answer = await stack.deploy.get("/deployments", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        return [d["deployment_id"] for d in answer.json()]

    mine = [planned.json()["id"]]
    await eventually(lambda: _is(listed("payments:viewer"), mine), what="the teams known")
    assert await listed("identity:viewer") == []
    assert await listed("identity:viewer", team="payments") == mine
    assert await listed("viewer") == mine
    assert await listed("viewer", team="identity") == []


async def _is(found: Awaitable[list[str]], expected: list[str]) -> bool:
    return await found == expected


async def test_a_high_risk_release_goes_to_production_only_as_carefully_as_its_policy_asks(
    stack: Stack,
) -> None:
    await define(stack)
    rule = RiskRule(level=Level.HIGH, least_strategy=Strategy.CANARY, min_soak_seconds=1)
    release_id = await stack.release("6.0.0", risk=rule)
    big_bang = await stack.plan(release_id)
    assert big_bang.status_code == 422, big_bang.text
    assert big_bang.json()["rule"] == "risk-least-strategy"
    assert big_bang.json()["errors"][0]["field"] == "strategy.kind"
    assert "high risk" in big_bang.json()["detail"]
    no_soak = await stack.plan(release_id, strategy={"kind": "canary"})
    assert no_soak.json()["rule"] == "risk-min-soak", no_soak.text
    canary = await stack.plan(release_id, strategy={"kind": "canary", "soak_seconds": 1})
    assert canary.status_code == 201, canary.text
    assert (await stack.finished(canary.json()["id"]))["state"] == "completed"
