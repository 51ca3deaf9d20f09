"""The four services as separate processes, against the real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ferry import migrations
from ferry.db import Database
from ferry.events.els import MetricObserved
from release_svc.main import MIGRATIONS
from tests.support.infra import Infra
from tests.support.journey import (
    available_release,
    local_target,
    production_of_local_targets,
    status_is,
)
from tests.support.services import eventually, publish, read_topic


@pytest.fixture
async def client(infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """A client for rita, who manages releases."""
    rita = infra.issuer.bearer("rita", "release-manager")
    async with httpx.AsyncClient(timeout=10, headers=rita) as c:
        yield c


async def ready(client: httpx.AsyncClient, url: str) -> bool:
    try:
        return (await client.get(f"{url}/readyz")).status_code == 200
    except httpx.TransportError:
        return False


async def answer(client: httpx.AsyncClient, url: str) -> httpx.Response | None:
    found = await client.get(url)
    return found if found.status_code == 200 else None


@pytest.mark.timeout(180)
async def test_a_planned_release_flows_from_release_svc_to_every_service(
    stack: dict[str, str], client: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    for name, url in stack.items():
        await eventually(partial(ready, client, url), timeout=60, what=f"{name} ready")

    created = await client.post(
        f"{stack['release']}/releases",
        json={
            "name": "Payments 2026.12",
            "version": "2026.12.0",
            "planned_start": "2026-12-01",
            "planned_end": "2026-12-05",
        },
        headers={"X-Correlation-ID": "e2e-flow"},
    )
    assert created.status_code == 201, created.text
    release_id = created.json()["id"]

    entry = await eventually(
        lambda: answer(client, f"{stack['dml']}/library/releases/{release_id}"),
        what="the DML entry",
    )
    assert entry.json()["state"] == "open"
    assert entry.json()["media"] == []

    known = await eventually(
        lambda: answer(client, f"{stack['deploy']}/catalog/releases/{release_id}"),
        what="deploy-svc learning of the release",
    )
    assert known.json()["name"] == "Payments 2026.12"
    deploy_view = await eventually(
        lambda: _library_state(client, f"{stack['deploy']}/catalog/releases/{release_id}"),
        what="deploy-svc learning of the DML entry",
    )
    assert deploy_view["library_state"] == "open"
    await eventually(
        lambda: _library_state(client, f"{stack['els']}/catalog/releases/{release_id}"),
        what="els-svc learning of the release and its DML entry",
    )

    cancelled = await client.post(
        f"{stack['release']}/releases/{release_id}/cancel",
        json={"reason": "budget cut"},
        headers={"If-Match": '"1"'},
    )
    assert cancelled.status_code == 200, cancelled.text
    for service in ("deploy", "els"):
        await eventually(
            partial(_cancelled, client, f"{stack[service]}/catalog/releases/{release_id}"),
            what=f"{service}-svc learning of the cancellation",
        )

    [opened] = await read_topic(infra.kafka, f"{topic_prefix}dml.events", expect=1, settle=0.5)
    assert opened.type == "LibraryEntryOpened"
    assert opened.correlationid == "e2e-flow"
    assert opened.actor == "service:dml-svc"
    assert opened.causationid is not None


async def _library_state(
    client: httpx.AsyncClient, url: str, state: str = "open"
) -> dict[str, str] | None:
    found = await answer(client, url)
    if found is None or found.json()["library_state"] != state:
        return None
    body: dict[str, str] = found.json()
    return body


@pytest.mark.timeout(180)
async def test_a_release_goes_from_plan_to_approved_across_the_services(
    stack: dict[str, str], client: httpx.AsyncClient, infra: Infra, topic_prefix: str
) -> None:
    """Every hand a real organisation has in it: a librarian stages the media, the release
    manager plans and packages, a tester validates, a change authority approves."""
    for name, url in stack.items():
        await eventually(partial(ready, client, url), timeout=60, what=f"{name} ready")
    release, dml = stack["release"], stack["dml"]
    librarian = infra.issuer.bearer("lib", "dml-librarian")
    tester = infra.issuer.bearer("tess", "tester")
    cab = infra.issuer.bearer("carl", "change-authority")

    content = b"payments-api 2026.12.0\n" * 4096
    staged = await client.put(
        f"{dml}/media/payments-api.tar.gz/2026.12.0",
        content=content,
        headers={**librarian, "Content-Type": "application/gzip"},
    )
    assert staged.status_code == 201, staged.text
    media = {k: staged.json()[k] for k in ("name", "version", "sha256")}

    created = await client.post(
        f"{release}/releases",
        json={
            "name": "Payments 2026.12",
            "version": "2026.12.0",
            "planned_start": "2026-12-01",
            "planned_end": "2026-12-20",
        },
        headers={"X-Correlation-ID": "e2e-approval"},
    )
    assert created.status_code == 201, created.text
    path = f"{release}/releases/{created.json()['id']}"
    backout = await client.put(
        f"{path}/backout-plan",
        json={"trigger_conditions": ["error rate above 2%"], "steps": ["switch back"]},
        headers={"If-Match": created.headers["ETag"]},
    )
    assert backout.status_code == 200, backout.text
    risk = {"likelihood": "low", "impact": "medium", "mitigations": ["canary first"]}
    assessed = await client.put(
        f"{path}/risk", json=risk, headers={"If-Match": backout.headers["ETag"]}
    )
    assert assessed.status_code == 200, assessed.text

    async def packaged() -> httpx.Response | None:
        answer = await client.put(
            f"{path}/package",
            json={"media": [media]},
            headers={"If-Match": assessed.headers["ETag"]},
        )
        return answer if answer.status_code == 200 else None

    built = await eventually(packaged, what="release-svc learning of the staged media")
    etag = built.headers["ETag"]

    # The tester takes the staged media from the DML to test them, then reports.
    taken = await client.get(f"{dml}/media/payments-api.tar.gz/2026.12.0/content", headers=tester)
    assert taken.content == content
    for kind in ("functional", "integration"):
        tested = await client.post(
            f"{path}/validations",
            json={"kind": kind, "outcome": "passed", "evidence": f"https://ci.example/{kind}"},
            headers={**tester, "If-Match": etag},
        )
        assert tested.status_code == 200, tested.text
        etag = tested.headers["ETag"]
    approved = await client.post(
        f"{path}/approvals", json={"rfc": "RFC-2026-12"}, headers={**cab, "If-Match": etag}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert approved.json()["package"]["media"] == [media]

    # Validated and approved: the DML makes the package definitive and says so, signed.
    release_id = created.json()["id"]
    available = await eventually(
        lambda: status_is(client, path, "available"), what="the release to become available"
    )
    entry = (await client.get(f"{dml}/library/releases/{release_id}")).json()
    key = (await client.get(f"{dml}/library/signing-key")).json()
    public_key = serialization.load_pem_public_key(key["public_key_pem"].encode())
    assert isinstance(public_key, Ed25519PublicKey)
    signed = entry["available"]
    public_key.verify(base64.b64decode(signed["signature"]), signed["manifest"].encode())
    manifest = json.loads(signed["manifest"])
    assert manifest["release_id"] == release_id
    assert manifest["media"] == [{**media, "size": len(content)}]
    assert signed["key_id"] == key["key_id"]
    for service in ("deploy", "els"):  # each catalog follows the library entry
        catalog = f"{stack[service]}/catalog/releases/{release_id}"
        await eventually(
            partial(_library_state, client, catalog, "available"),
            what=f"{service}-svc learning that the release is available",
        )
    deployer = infra.issuer.bearer("dora", "deployer")
    definitive = f"{dml}/media/payments-api.tar.gz/2026.12.0/content"
    assert (await client.get(definitive, headers=deployer)).content == content
    assert (await client.get(definitive, headers=tester)).status_code == 403

    events = await read_topic(infra.kafka, f"{topic_prefix}release.events", expect=10, settle=0.5)
    assert [e.type for e in events] == [
        "ReleasePlanned",
        "BackoutPlanSet",
        "RiskAssessed",
        "ReleasePackageBuilt",
        "ValidationResultRecorded",
        "ValidationResultRecorded",
        "ReleaseValidated",
        "ApprovalGiven",
        "ReleaseApproved",
        "ReleaseMadeAvailable",
    ]
    assert [e.actor for e in events[-4:]] == ["tess", "carl", "carl", "service:release-svc"]
    assert events[0].correlationid == "e2e-approval"
    assert available.json()["stream_version"] == 10


async def test_migrate_is_a_step_of_its_own(infra: Infra) -> None:
    """Production runs `python -m <svc> migrate` before starting replicas."""
    schema = f"e2e_migrate_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "FERRY_DATABASE_URL": infra.database_url,
        "FERRY_RELEASE_DB_SCHEMA": schema,
    }
    for _ in range(2):  # the second run finds nothing to do
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "release_svc", "migrate"],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    db = Database(infra.database_url, schema, "probe")
    try:
        async with db.unit_of_work() as uow:
            assert await migrations.applied(uow) == migrations.head(MIGRATIONS)
    finally:
        await db.dispose()


async def _cancelled(client: httpx.AsyncClient, url: str) -> bool:
    found = await answer(client, url)
    return found is not None and found.json()["cancelled"] is True


@pytest.mark.timeout(300)
async def test_a_release_lives_from_plan_through_deployment_and_support_to_its_review(
    stack: dict[str, str],
    client: httpx.AsyncClient,
    infra: Infra,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    """Plan, package, validate, approve; the DML makes it available; deploy-svc deploys it;
    els-svc supports it until normal, on signals from ops.signals and the API; operations
    take it over; release-svc shows it ready for its review."""
    for name, url in stack.items():
        await eventually(partial(ready, client, url), timeout=60, what=f"{name} ready")
    deploy, els = stack["deploy"], stack["els"]
    today = datetime.now(UTC).date()
    plan = {
        "name": "Payments 3",
        "version": "3.0.0",
        "planned_start": str(today),
        "planned_end": str(today + timedelta(days=30)),
        "escalation_contact": "payments-oncall",
    }
    now = datetime.now(UTC)
    window = {
        "environment": "production",
        "start": (now - timedelta(minutes=5)).isoformat(),
        "end": (now + timedelta(hours=2)).isoformat(),
    }
    parts: dict[str, dict[str, Any]] = {
        "scope": {"items": [{"kind": "service", "name": "payments"}]},
        "windows": {"windows": [window]},
        "backout-plan": {"trigger_conditions": ["errors"], "steps": ["switch back"]},
    }
    path = await available_release(client, stack, infra, plan, parts)
    await production_of_local_targets(client, deploy, infra, local_target("web-1", tmp_path))
    dora = infra.issuer.bearer("dora", "deployer")
    release_id = path.rsplit("/", 1)[1]

    async def deployed() -> httpx.Response | None:
        answer = await client.post(
            f"{deploy}/deployments",
            json={"release_id": release_id, "environment": "production"},
            headers=dora,
        )
        return answer if answer.status_code == 201 else None

    await eventually(deployed, what="the deployment plan to be accepted")
    await eventually(
        lambda: status_is(client, path, "in_early_life_support"), timeout=60, what="ELS"
    )

    async def case() -> dict[str, Any] | None:
        found = (await client.get(f"{els}/cases", params={"release_id": release_id})).json()
        return found[0] if found else None

    opened = await eventually(case, what="the ELS case")
    assert opened["escalation_contact"] == "payments-oncall"
    otto = infra.issuer.bearer("otto", "operations")
    criteria = [
        {"metric": "desk_calls", "baseline": 10, "tolerance": 0.5, "period": "minute"},
        {
            "metric": "error_rate",
            "baseline": 1.0,
            "tolerance": 0.5,
            "period": "minute",
            "aggregate": "max",
        },
    ]
    cases = f"{els}/cases/{opened['id']}"
    proposed = await client.post(
        f"{cases}/criteria",
        json={"side": "deployment", "criteria": criteria},
        headers={**dora, "If-Match": f'"{opened["stream_version"]}"'},
    )
    agreed = await client.post(
        f"{cases}/criteria/agreement",
        json={"side": "operations"},
        headers={**otto, "If-Match": proposed.headers["ETag"]},
    )
    assert agreed.status_code == 200, agreed.text
    # In the first whole minute after the case began: a desk-call count from the service
    # desk's tool, and an error rate from monitoring, through the API.
    begun = datetime.fromisoformat(opened["started_at"])
    started = begun.replace(second=0, microsecond=0) + timedelta(minutes=1, seconds=10)
    signal = MetricObserved(
        signal_id="desk-1",
        service="payments",
        environment="production",
        metric="desk_calls",
        value=3,
        observed_at=started,
    )
    await publish(infra, f"{topic_prefix}ops.signals", signal)
    observation = {"metric": "error_rate", "value": 0.8, "observed_at": started.isoformat()}
    answer = await client.post(f"{cases}/observations", json=observation, headers=otto)
    assert answer.status_code == 200, answer.text

    async def normal() -> dict[str, Any] | None:
        body: dict[str, Any] = (await client.get(cases, headers=otto)).json()
        return body if body["state"] == "normal" else None

    async def signal_counted() -> bool:
        body = (await client.get(cases, headers=otto)).json()
        return int(body["stream_version"]) >= 5  # started, proposed, agreed, two observations

    await eventually(signal_counted, timeout=60, what="the signal on ops.signals to count")
    reached = await eventually(normal, timeout=180, what="normal to be reached")
    exited = await client.post(
        f"{cases}/exit", json={}, headers={**otto, "If-Match": f'"{reached["stream_version"]}"'}
    )
    assert exited.status_code == 200, exited.text
    ready_for_review = await eventually(
        lambda: status_is(client, path, "ready_for_review"), what="release-svc to await the review"
    )
    assert ready_for_review.json()["deployed_to"] == ["production"]
