"""Deployment that follows the plan, with the four services as processes: a built package
tested in a test environment before approval (its verification recorded as validation), a
high-risk release held to a canary in production, a failed verification running the
release's own backout plan through a manual step, a deployment pausing when its window
closes and going on in the next one, a target changed behind Ferry's back, and the delivery
metrics showing all of it."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Start
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.journey import available_release, local_target, status_is
from tests.support.services import eventually

ROLLBACK = {
    "trigger_conditions": [{"kind": "verification_failed"}],
    "steps": [{"kind": "rollback"}],
}
FAILS_ON = "2.0.0"
"""The version every production target's verification refuses."""


@pytest.fixture
def stack(services: Start) -> dict[str, str]:
    settings = {
        "FERRY_DEPLOY_LOCAL_PROGRAMS": '["test", "sh"]',
        "FERRY_DEPLOY_DRIFT_SECONDS": "0.5",
    }
    return services(settings)


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


def window(hours: float = 2) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "environment": "production",
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(hours=hours)).isoformat(),
    }


def plan(name: str, version: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "name": name,
        "version": version,
        "planned_start": str(today),
        "planned_end": str(today + timedelta(days=30)),
        "escalation_contact": "oncall@example.com",
    }


class Flow:
    def __init__(self, client: httpx.AsyncClient, stack: dict[str, str], infra: Infra) -> None:
        self.client, self.stack, self.infra = client, stack, infra
        self.dora = infra.issuer.bearer("dora", "deployer")

    async def deployment(self, path: str, done: Callable[[dict[str, Any]], bool]) -> Any:
        async def reached() -> dict[str, Any] | None:
            body: dict[str, Any] = (await self.client.get(path, headers=self.dora)).json()
            return body if done(body) else None

        return await eventually(reached, timeout=90, what=f"{path} to get there")

    async def set_windows(self, path: str, *windows: dict[str, Any]) -> httpx.Response:
        """Replace the release's windows, reading its version again when release-svc
        recorded something of the deployment meanwhile (a milestone)."""

        async def put() -> httpx.Response | None:
            etag = (await self.client.get(path)).headers["ETag"]
            body = {"windows": list(windows)}
            answer = await self.client.put(f"{path}/windows", json=body, headers={"If-Match": etag})
            return None if answer.status_code == 409 else answer

        return await eventually(put, what="the windows to be set")

    async def deploy(
        self,
        release_id: str,
        environment: str,
        headers: dict[str, str] | None = None,
        **body: Any,
    ) -> httpx.Response:
        """Plan a deployment (as dora, unless `headers` say who) once deploy-svc knows the
        release."""
        request = {"release_id": release_id, "environment": environment, **body}

        async def answered() -> httpx.Response | None:
            answer = await self.client.post(
                f"{self.stack['deploy']}/deployments", json=request, headers=headers or self.dora
            )
            pending = answer.status_code in (409, 422) and any(
                words in answer.text for words in ("not available", "not heard", "no package")
            )
            return None if pending else answer

        return await eventually(answered, what="deploy-svc to know the release")


@pytest.mark.timeout(600)
async def test_deployments_follow_the_plan_and_the_benefits_are_measured(
    stack: dict[str, str], infra: Infra, tmp_path: Path
) -> None:
    rita = infra.issuer.bearer("rita", "release-manager")
    async with httpx.AsyncClient(timeout=15, headers=rita) as client:
        for name, url in stack.items():
            await eventually(partial(ready, client, url), timeout=60, what=f"{name} ready")
        flow = Flow(client, stack, infra)
        release, dml, deploy = stack["release"], stack["dml"], stack["deploy"]

        # Minor releases of high risk go to production as a canary soaking a second at least.
        policy = {
            "required_validations": ["functional", "integration"],
            "approvers": 1,
            "high_risk_approvers": 1,
            "risk_rules": [{"level": "high", "least_strategy": "canary", "min_soak_seconds": 1}],
            "reason": "high risk goes in carefully",
        }
        proposed = await client.put(
            f"{release}/policies/minor", json=policy, headers={"If-Match": '"0"'}
        )
        await approved(client, infra, proposed)
        qa = {"class": "test", "targets": [local_target("qa-1", tmp_path)]}
        assert (
            await client.put(f"{deploy}/environments/qa", json=qa, headers=flow.dora)
        ).is_success
        check = ["sh", "-c", f'test "$FERRY_RELEASE_VERSION" != "{FAILS_ON}"']
        production = {
            "class": "production",
            "targets": [
                local_target(f"web-{i}", tmp_path, verify_command=check) for i in (1, 2, 3)
            ],
            "reason": "the web tier",
        }
        defined = await client.put(
            f"{deploy}/environments/production", json=production, headers=flow.dora
        )
        await approved(client, infra, defined)

        # 1. Built, not yet approved: a tester deploys it to the test environment, and its
        # verification there is the functional validation.
        media = await client.put(
            f"{dml}/media/checkout.tar.gz/1.0.0",
            content=b"checkout 1.0.0\n" * 512,
            headers={
                **infra.issuer.bearer("lib", "dml-librarian"),
                "Content-Type": "application/gzip",
            },
        )
        created = await client.post(f"{release}/releases", json=plan("Checkout", "1.0.0"))
        path, etag = f"{release}/releases/{created.json()['id']}", created.headers["ETag"]
        high = {"likelihood": "high", "impact": "high", "mitigations": ["canary"]}
        for part, body in [
            ("windows", {"windows": [window()]}),
            ("risk", high),
            (
                "backout-plan",
                ROLLBACK,
            ),
        ]:
            answer = await client.put(f"{path}/{part}", json=body, headers={"If-Match": etag})
            assert answer.status_code == 200, answer.text
            etag = answer.headers["ETag"]
        ref = {k: media.json()[k] for k in ("name", "version", "sha256")}

        async def packaged() -> httpx.Response | None:
            answer = await client.put(
                f"{path}/package", json={"media": [ref]}, headers={"If-Match": etag}
            )
            return answer if answer.status_code == 200 else None

        await eventually(packaged, what="the package")
        first_id = created.json()["id"]
        tess = infra.issuer.bearer("tess", "tester")
        tested = await flow.deploy(first_id, "qa", validation="functional", headers=tess)
        assert tested.status_code == 201, tested.text
        assert tested.json()["environment_class"] == "test"
        await flow.deployment(
            f"{deploy}/deployments/{tested.json()['id']}", lambda d: d["state"] == "completed"
        )

        async def functional_recorded() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get(path)).json()
            kinds = {v["kind"]: v for v in body["validations"]}
            return body if "functional" in kinds else None

        recorded = await eventually(functional_recorded, what="the test deployment as validation")
        [functional] = [v for v in recorded["validations"] if v["kind"] == "functional"]
        assert (functional["outcome"], functional["tester"]) == ("passed", "tess")
        assert recorded["deployed_to"] == []  # a test deployment moved nothing
        etag = (await client.get(path)).headers["ETag"]
        integration = {"kind": "integration", "outcome": "passed", "evidence": "https://ci/1"}
        answer = await client.post(
            f"{path}/validations", json=integration, headers={**tess, "If-Match": etag}
        )
        assert answer.json()["status"] == "validated", answer.text
        cab = infra.issuer.bearer("carl", "change-authority")
        approval = await client.post(
            f"{path}/approvals",
            json={"rfc": "RFC-1"},
            headers={**cab, "If-Match": answer.headers["ETag"]},
        )
        assert approval.status_code == 200, approval.text
        await eventually(lambda: status_is(client, path, "available"), what="availability")

        # High risk: a big bang is refused naming the rule; a canary that soaks goes.
        refused = await flow.deploy(first_id, "production")
        assert refused.status_code == 422, refused.text
        assert refused.json()["rule"] == "risk-least-strategy"
        canary = await flow.deploy(
            first_id, "production", strategy={"kind": "canary", "soak_seconds": 1}
        )
        assert canary.status_code == 201, canary.text
        await flow.deployment(
            f"{deploy}/deployments/{canary.json()['id']}", lambda d: d["state"] == "completed"
        )

        # 2. A release whose verification fails: its own backout plan runs, waiting for the
        # manual step until someone confirms it.
        backout = {
            "trigger_conditions": [{"kind": "verification_failed"}],
            "steps": [
                {"kind": "manual", "description": "drain the payment queue"},
                {"kind": "rollback"},
            ],
        }
        second = await available_release(
            client,
            stack,
            infra,
            plan("Payments", FAILS_ON),
            {"windows": {"windows": [window()]}, "backout-plan": backout},
        )
        failing = await flow.deploy(second.rsplit("/", 1)[1], "production")
        failing_path = f"{deploy}/deployments/{failing.json()['id']}"
        waiting = await flow.deployment(failing_path, lambda d: d["awaiting_step"] == 0)
        assert waiting["state"] == "rolling_back"
        etag = (await client.get(failing_path, headers=flow.dora)).headers["ETag"]
        confirmed = await client.post(
            f"{failing_path}/backout/0/confirm",
            json={"note": "queue drained"},
            headers={**flow.dora, "If-Match": etag},
        )
        assert confirmed.status_code == 200, confirmed.text
        await flow.deployment(failing_path, lambda d: d["state"] == "rolled_back")

        # 3. A window closing while the canary soaks: the deployment pauses, and goes on
        # once the release manager gives the release its next window.
        parts = {"windows": {"windows": [window()]}, "backout-plan": ROLLBACK}
        third = await available_release(client, stack, infra, plan("Ledger", "3.0.0"), parts)
        third_id = third.rsplit("/", 1)[1]
        soaking = await flow.deploy(
            third_id, "production", strategy={"kind": "canary", "soak_seconds": 4}
        )
        soaking_path = f"{deploy}/deployments/{soaking.json()['id']}"
        closing = await flow.set_windows(third, window(hours=3 / 3600))
        assert closing.status_code == 200, closing.text
        paused = await flow.deployment(soaking_path, lambda d: d["awaiting_window"])
        assert (paused["state"], paused["paused"]) == ("running", True)
        assert len(paused["verified_waves"]) < len(paused["waves"])  # stopped mid-way
        reopened = await flow.set_windows(third, window())
        assert reopened.status_code == 200, reopened.text
        await flow.deployment(soaking_path, lambda d: d["state"] == "completed")

        # 4. web-2 changed by hand behind Ferry's back.
        root = tmp_path / "web-2"
        (root / "releases" / "0.9-hotfix").mkdir(parents=True)
        (root / "by-hand").symlink_to("releases/0.9-hotfix")
        os.replace(root / "by-hand", root / "current")

        async def drift() -> list[dict[str, Any]] | None:
            found = await client.get(f"{deploy}/unauthorised-changes", params={"open": "true"})
            changes: list[dict[str, Any]] = found.json()
            return changes or None

        [change] = await eventually(drift, what="the unauthorised change")
        assert (change["target"], change["expected"], change["found"]) == (
            "web-2",
            "3.0.0",
            "0.9-hotfix",
        )

        # The delivery metrics show it all.
        async def measured() -> dict[str, Any] | None:
            body: dict[str, Any] = (await client.get(f"{release}/delivery-metrics")).json()
            by_risk = body["change_failure_rate_by_risk"]
            whole = body["unauthorised_changes"] == 1 and {"high", "low"} <= set(by_risk)
            return body if whole and by_risk["low"]["finished"] == 2 else None

        metrics = await eventually(measured, timeout=60, what="the metrics to count it all")
        assert metrics["change_failure_rate_by_risk"]["high"] == {
            "finished": 1,
            "failed": 0,
            "rate": 0.0,
        }
        assert metrics["change_failure_rate_by_risk"]["low"] == {
            "finished": 2,
            "failed": 1,
            "rate": 0.5,
        }
        assert metrics["deployment_frequency"]["deployments"] == 2  # the test deployment is not one
        assert metrics["benefits"]["releases"] == 2
