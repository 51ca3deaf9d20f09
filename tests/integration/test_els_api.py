"""els-svc against real PostgreSQL and Kafka: a completed deployment opens a case, the two
sides agree what normal is, observations arrive by the API and on ops.signals, and the
evaluator judges the periods (driven here at a chosen time, so no test waits a day)."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from els_svc.config import Settings
from els_svc.jobs.evaluator import evaluate_all
from els_svc.main import spec
from ferry import signing
from ferry.db import Database
from ferry.events.els import MetricObserved
from ferry.service import signer_of
from tests.support.els import START, opened_case
from tests.support.infra import Infra
from tests.support.services import eventually, publish, read_topic, serving, settings

CRITERIA = [
    {"metric": "desk_calls", "baseline": 10, "tolerance": 0.2, "period": "day", "consecutive": 2},
    {"metric": "p1_incidents", "baseline": 0, "tolerance": 0, "period": "day"},
]


@pytest.fixture
def els_settings(infra: Infra, topic_prefix: str) -> Settings:
    return settings(Settings, infra, topic_prefix, evaluate_seconds=3600)


@pytest.fixture
async def els(els_settings: Settings, infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(spec(els_settings), headers=infra.issuer.bearer("dora", "deployer")) as c:
        yield c


async def judge(s: Settings, at: datetime) -> None:
    """Judge the cases at `at`, as els-svc's evaluator does (signing what it decides: an
    escalation is a decision its consumers act on)."""
    db = Database(s.database_url, s.db_schema, "test-evaluator", signer=signer_of(s))
    try:
        await evaluate_all(db, at)
    finally:
        await db.dispose()


async def test_from_a_completed_deployment_to_the_hand_over(
    els: httpx.AsyncClient, infra: Infra, els_settings: Settings
) -> None:
    case = await opened_case(infra, els_settings, els)
    assert case["escalation_contact"] == "payments-oncall"
    assert case["planned_end"].startswith((START.date() + timedelta(days=7)).isoformat())
    path = f"/cases/{case['id']}"
    otto = infra.issuer.bearer("otto", "operations")

    proposed = await els.post(
        f"{path}/criteria",
        json={"side": "deployment", "criteria": CRITERIA},
        headers={"If-Match": f'"{case["stream_version"]}"'},
    )
    assert proposed.status_code == 200, proposed.text
    same_side = await els.post(
        f"{path}/criteria/agreement",
        json={"side": "deployment"},
        headers={"If-Match": proposed.headers["ETag"]},
    )
    assert same_side.status_code == 403
    not_theirs = await els.post(
        f"{path}/criteria/agreement",
        json={"side": "operations"},
        headers={"If-Match": proposed.headers["ETag"]},
    )
    assert not_theirs.status_code == 403  # dora has no operations role
    agreed = await els.post(
        f"{path}/criteria/agreement",
        json={"side": "operations"},
        headers={**otto, "If-Match": proposed.headers["ETag"]},
    )
    assert agreed.status_code == 200, agreed.text
    assert agreed.json()["agreed_by"] == {"deployment": "dora", "operations": "otto"}

    # Day 0: too many calls (escalated); days 1 and 2 within tolerance, one of them by two
    # signals on ops.signals, one repeated.
    def day(n: int, h: int = 12) -> datetime:
        return START + timedelta(days=n, hours=h)

    observe = {"metric": "desk_calls", "value": 30, "observed_at": day(0).isoformat()}
    assert (await els.post(f"{path}/observations", json=observe, headers=otto)).status_code == 200
    await publish(
        infra,
        els_settings.topic("ops.signals"),
        *[
            MetricObserved(
                signal_id=sid,
                service="payments",
                environment="production",
                metric="desk_calls",
                value=value,
                observed_at=at,
            )
            for sid, value, at in [("s1", 6, day(1)), ("s2", 5, day(1, 18)), ("s1", 6, day(1))]
        ],
    )
    for observe in (
        {"metric": "desk_calls", "value": 9, "observed_at": day(2).isoformat()},
        {"metric": "p1_incidents", "value": 0, "observed_at": day(2).isoformat()},
    ):
        answer = await els.post(f"{path}/observations", json=observe, headers=otto)
        assert answer.status_code == 200, answer.text

    async def counted() -> dict[str, Any] | None:
        report = (await els.get(f"{path}/report")).json()
        return report if report["case"]["stream_version"] >= 8 else None

    await eventually(counted, timeout=60, what="the signals to be recorded")
    await judge(els_settings, day(3, 2))
    report = (await els.get(f"{path}/report")).json()
    assert [m["criterion"]["metric"] for m in report["metrics"]] == ["desk_calls", "p1_incidents"]
    assert report["case"]["state"] == "normal"

    early = await els.post(f"{path}/exit", json={}, headers={**otto, "If-Match": '"1"'})
    assert early.status_code == 409
    # Normal is reached, but the case's own task is not done: the hand-over waits for it.
    task = {"title": "Hand the runbook over", "assignee": "otto"}
    [added] = (await els.post(f"{path}/tasks", json=task, headers=otto)).json()["tasks"]
    current = await els.get(path)
    waiting = await els.post(
        f"{path}/exit", json={}, headers={**otto, "If-Match": current.headers["ETag"]}
    )
    assert waiting.status_code == 409, waiting.text
    assert [t["title"] for t in waiting.json()["tasks"]] == ["Hand the runbook over"]
    await els.post(f"{path}/tasks/{added['task_id']}/done", headers=otto)
    current = await els.get(path)
    exited = await els.post(
        f"{path}/exit", json={}, headers={**otto, "If-Match": current.headers["ETag"]}
    )
    assert exited.status_code == 200, exited.text
    assert exited.json()["state"] == "exited"

    events = await read_topic(infra.kafka, els_settings.topic("els.events"), expect=12, settle=1)
    types = [e.type for e in events]
    assert types.count("ElsObservationRecorded") == 5  # the repeated signal counted once
    for expected in (
        "ElsStarted",
        "ElsCriteriaAgreed",
        "ElsEscalated",
        "ElsNormalReached",
        "ElsExited",
    ):
        assert expected in types
    escalated = next(e for e in events if e.type == "ElsEscalated")
    assert (escalated.data["value"], escalated.data["contact"]) == (30, "payments-oncall")


async def test_support_work_and_an_override(
    els: httpx.AsyncClient, infra: Infra, els_settings: Settings
) -> None:
    case = await opened_case(infra, els_settings, els)
    path = f"/cases/{case['id']}"
    otto = infra.issuer.bearer("otto", "operations")
    linked = await els.post(f"{path}/incidents", json={"reference": "INC-42"}, headers=otto)
    assert linked.json()["incidents"] == [{"reference": "INC-42", "kind": "incident"}]
    task = {"title": "Runbook walk-through", "assignee": "otto", "due": str(date.today())}
    tasks = (await els.post(f"{path}/tasks", json=task)).json()["tasks"]
    done = await els.post(f"{path}/tasks/{tasks[0]['task_id']}/done", headers=otto)
    assert done.json()["tasks"][0]["done_by"] == "otto"
    vic = infra.issuer.bearer("vic", "viewer")
    rated = await els.post(f"{path}/feedback", json={"rating": 4, "comment": "smooth"}, headers=vic)
    assert rated.json()["feedback"] == [{"rating": 4, "comment": "smooth", "given_by": "vic"}]
    bad = await els.post(f"{path}/feedback", json={"rating": 9}, headers=vic)
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "rating")

    etag = (await els.get(path)).headers["ETag"]
    refused = await els.post(f"{path}/exit", json={}, headers={**otto, "If-Match": etag})
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "override_reason")
    not_ops = await els.post(
        f"{path}/exit", json={"override_reason": "x"}, headers={"If-Match": etag}
    )
    assert not_ops.status_code == 403
    exited = await els.post(
        f"{path}/exit",
        json={"override_reason": "the desk is confident"},
        headers={**otto, "If-Match": etag},
    )
    assert exited.json()["override_reason"] == "the desk is confident"


async def test_a_baseline_left_out_is_computed_from_the_signals_before(
    els: httpx.AsyncClient, infra: Infra, els_settings: Settings
) -> None:
    week = [
        MetricObserved(
            signal_id=f"before-{n}",
            service="payments",
            environment="production",
            metric="desk_calls",
            value=7,
            observed_at=START - timedelta(days=n, hours=-3),
        )
        for n in range(1, 8)
    ]
    await publish(infra, els_settings.topic("ops.signals"), *week)
    case = await opened_case(infra, els_settings, els)
    path = f"/cases/{case['id']}"
    unknown = {"metric": "p95_ms", "tolerance": 0.1, "aggregate": "max"}
    refused = await els.post(
        f"{path}/criteria",
        json={"side": "deployment", "criteria": [unknown]},
        headers={"If-Match": f'"{case["stream_version"]}"'},
    )
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (
        422,
        "criteria.0.baseline",
    )

    async def proposed() -> httpx.Response | None:
        answer = await els.post(
            f"{path}/criteria",
            json={"side": "deployment", "criteria": [{"metric": "desk_calls", "tolerance": 0.2}]},
            headers={"If-Match": f'"{case["stream_version"]}"'},
        )
        return answer if answer.status_code == 200 else None

    answer = await eventually(proposed, what="the signals before to be kept")
    assert answer.json()["proposed"][0]["baseline"] == 7


async def test_an_escalation_is_also_posted_signed_to_the_webhook(
    infra: Infra, topic_prefix: str
) -> None:
    received: list[tuple[bytes, dict[str, str]]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, dict(self.headers.items())))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        s = settings(
            Settings,
            infra,
            topic_prefix,
            evaluate_seconds=3600,
            escalation_webhook_url=f"http://127.0.0.1:{server.server_port}/page",
            escalation_webhook_secret="s3cret",
        )
        async with serving(spec(s), headers=infra.issuer.bearer("dora", "deployer")) as els:
            case = await opened_case(infra, s, els)
            path = f"/cases/{case['id']}"
            otto = infra.issuer.bearer("otto", "operations")
            criterion = {"metric": "p1_incidents", "baseline": 0, "tolerance": 0}
            proposed = await els.post(
                f"{path}/criteria",
                json={"side": "deployment", "criteria": [criterion]},
                headers={"If-Match": f'"{case["stream_version"]}"'},
            )
            await els.post(
                f"{path}/criteria/agreement",
                json={"side": "operations"},
                headers={**otto, "If-Match": proposed.headers["ETag"]},
            )
            at = (START + timedelta(hours=5)).isoformat()
            observation = {"metric": "p1_incidents", "value": 2, "observed_at": at}
            await els.post(f"{path}/observations", json=observation, headers=otto)
            await judge(s, START + timedelta(days=1, hours=2))
            await eventually(lambda: _one(received), what="the webhook to be called")
    finally:
        server.shutdown()
        server.server_close()
    body, headers = received[0]
    signing.verify(b"s3cret", body, headers)
    assert json.loads(body)["metric"] == "p1_incidents"


async def _one(received: list[tuple[bytes, dict[str, str]]]) -> bool:
    return bool(received)
