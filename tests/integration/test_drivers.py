"""Deployment drivers against real servers: the local driver verified over real HTTP, the
webhook driver against automation the test runs, calling back the served deploy-svc. The
kubernetes driver's are in tests/kubernetes, against a real API server."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from deploy_svc.adapters import webhook_results
from deploy_svc.config import Settings
from deploy_svc.drivers.base import DriverError, Job
from deploy_svc.drivers.limits import LocalLimits
from deploy_svc.drivers.local import LocalDriver
from deploy_svc.drivers.registry import drivers
from deploy_svc.main import spec
from ferry import signing
from ferry.db import Database
from ferry.devports import free_port
from tests.support.drivers import job_for
from tests.support.infra import Infra
from tests.support.services import serving, settings

SECRET = b"automation-secret"


@contextmanager
def served(server: ThreadingHTTPServer) -> Iterator[str]:
    """Run `server` in a thread; its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test's output is for failures


# --- local: a real version live, verified over HTTP, rolled back ---------------------------


async def test_local_driver_makes_a_version_live_verifies_it_over_http_and_rolls_back(
    tmp_path: Path,
) -> None:
    target = tmp_path / "srv" / "web"
    (target / "current").parent.mkdir(parents=True)
    # A web server whose content is whatever `current` points at, as in production.
    handler = partial(Quiet, directory=str(target / "current"))
    with served(ThreadingHTTPServer(("127.0.0.1", 0), handler)) as base:
        options = {"path": str(target), "verify_url": f"{base}/health", "verify_timeout_seconds": 1}
        good = job_for(tmp_path / "m1", "1.0", {"health": b"ok", "index.html": b"v1"}, **options)
        broken = job_for(tmp_path / "m2", "1.1", {"index.html": b"v2"}, **options)
        driver = LocalDriver(LocalLimits(roots=(tmp_path / "srv",), url_prefixes=(f"{base}/",)))
        async with httpx.AsyncClient(base_url=base) as web:
            assert await driver.install(good) is None
            await driver.verify(good)
            assert (await web.get("/index.html")).text == "v1"

            previous = await driver.install(broken)
            assert (await web.get("/index.html")).text == "v2"
            with pytest.raises(DriverError, match=r"/health did not answer 2xx.*: status 404"):
                await driver.verify(broken)

            await driver.roll_back(broken, previous)
            assert (await web.get("/index.html")).text == "v1"
            await driver.verify(good)


# --- webhook: automation the test runs, calling back deploy-svc ----------------------------


@dataclass
class Automation:
    """External automation: takes signed requests; answers by calling back, or at its status
    URL after `pending` polls."""

    outcome: str = "succeeded"
    detail: str | None = None
    previous: str | None = "1.0"
    call_back: bool = True
    answer_secret: bytes = SECRET
    pending: int = 1
    requests: list[dict[str, Any]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    callbacks: list[httpx.Response] = field(default_factory=list)
    polls: int = 0

    def answer(self, request: dict[str, Any]) -> bytes:
        return json.dumps(
            {
                "idempotency_id": request["idempotency_id"],
                "outcome": self.outcome,
                "detail": self.detail,
                "previous": self.previous if request["action"] == "install" else None,
            }
        ).encode()

    def send_callback(self, request: dict[str, Any]) -> None:
        time.sleep(0.2)  # after the request was answered, as a pipeline would
        body = self.answer(request)
        headers = {"Content-Type": "application/json", **signing.sign(self.answer_secret, body)}
        self.callbacks.append(httpx.post(request["callback_url"], content=body, headers=headers))

    def handler(self) -> type[BaseHTTPRequestHandler]:
        automation = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    signing.verify(SECRET, body, httpx.Headers(self.headers.items()))
                except signing.BadSignature as exc:
                    automation.refused.append(str(exc))
                    self.send_response(401)
                    self.end_headers()
                    return
                request = json.loads(body)
                request["idempotency_key"] = self.headers["Idempotency-Key"]
                automation.requests.append(request)
                self.send_response(202)
                self.end_headers()
                if automation.call_back:
                    threading.Thread(target=automation.send_callback, args=(request,)).start()

            def do_GET(self) -> None:
                automation.polls += 1
                request = automation.requests[-1]
                if automation.polls <= automation.pending:
                    body = json.dumps(
                        {"idempotency_id": request["idempotency_id"], "outcome": "pending"}
                    ).encode()
                else:
                    body = automation.answer(request)
                self.send_response(200)
                for name, value in signing.sign(automation.answer_secret, body).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def running(automation: Automation, port: int) -> Iterator[str]:
    with served(ThreadingHTTPServer(("127.0.0.1", port), automation.handler())) as base:
        yield base


@pytest.fixture
def automation_port() -> int:
    """Where the test's automation listens: the one URL prefix deploy-svc allows."""
    return free_port()


@pytest.fixture
def deploy_settings(infra: Infra, topic_prefix: str, automation_port: int) -> Settings:
    port = free_port()
    return settings(
        Settings,
        infra,
        topic_prefix,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        webhook_secrets={"automation": SecretStr(SECRET.decode())},
        url_prefixes=[f"http://127.0.0.1:{automation_port}/"],
    )


@pytest.fixture
async def deploy_svc(deploy_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(spec(deploy_settings)) as client:
        yield client


@pytest.fixture
async def db(deploy_settings: Settings, deploy_svc: httpx.AsyncClient) -> AsyncIterator[Database]:
    """deploy-svc's own schema (migrated by the served app), for the driver's results."""
    database = Database(deploy_settings.database_url, deploy_settings.db_schema, "test")
    yield database
    await database.dispose()


MEDIA = b"\x1f\x8b payments 2.0"


def webhook_job(tmp_path: Path, base: str, **options: object) -> Job:
    media = {"payments.tar.gz": MEDIA}
    settings = {"url": f"{base}/deploy", "secret": "automation", "poll_seconds": 0.2, **options}
    return job_for(tmp_path / "media", "2.0", media, "web-1", **settings)


async def test_webhook_install_is_handed_over_signed_and_its_callback_awaited(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(previous="1.9")
    driver = drivers(deploy_settings, db)["webhook"]
    with running(automation, automation_port) as base:
        job = webhook_job(tmp_path, base)
        assert await driver.install(job) == "1.9"
        await driver.verify(job)
        # Repeated after a crash: the result is in, so nothing is asked again.
        assert await driver.install(job) == "1.9"

    [request] = automation.requests
    assert automation.callbacks[0].status_code == 204
    ident = f"{job.deployment_id}:web-1:install"
    assert request == {
        "deployment_id": str(job.deployment_id),
        "target": "web-1",
        "action": "install",
        "idempotency_id": ident,
        "idempotency_key": ident,
        "release_id": str(job.artifacts.release_id),
        "version": "2.0",
        "media": [
            {
                "name": "payments.tar.gz",
                "sha256": hashlib.sha256(MEDIA).hexdigest(),
                "size": len(MEDIA),
            }
        ],
        "previous": None,
        "callback_url": f"{deploy_settings.public_url}/webhooks/{job.deployment_id}/web-1",
    }


async def test_webhook_roll_back_sends_the_previous_version(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation()
    driver = drivers(deploy_settings, db)["webhook"]
    with running(automation, automation_port) as base:
        job = webhook_job(tmp_path, base)
        previous = await driver.install(job)
        await driver.roll_back(job, previous)
    assert [(r["action"], r["previous"]) for r in automation.requests] == [
        ("install", None),
        ("roll_back", "1.0"),
    ]


async def test_a_failure_the_automation_reports_fails_the_step(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(outcome="failed", detail="sync failed: image pull back-off")
    driver = drivers(deploy_settings, db)["webhook"]
    with running(automation, automation_port) as base:
        job = webhook_job(tmp_path, base)
        with pytest.raises(DriverError, match="reports the install failed") as failed:
            await driver.install(job)
    # The automation's words go to the deployment log, not into the event's reason.
    assert "image pull back-off" not in str(failed.value)
    assert "image pull back-off" in job.log[-1]


async def test_a_step_that_failed_asks_again_when_repeated(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(outcome="failed", detail="cluster unreachable")
    driver = drivers(deploy_settings, db)["webhook"]
    with running(automation, automation_port) as base:
        job = webhook_job(tmp_path, base)
        with pytest.raises(DriverError, match="reports the roll_back failed"):
            await driver.roll_back(job, "1.0")
        assert "cluster unreachable" in job.log[-1]
        automation.outcome = "succeeded"
        await driver.roll_back(job, "1.0")
    assert [r["idempotency_key"] for r in automation.requests] == [
        f"{job.deployment_id}:web-1:roll_back"
    ] * 2


async def test_a_callback_with_a_bad_signature_is_refused_and_the_step_times_out(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(answer_secret=b"guessed")
    driver = drivers(deploy_settings, db)["webhook"]
    started = time.monotonic()
    with (
        running(automation, automation_port) as base,
        pytest.raises(DriverError, match=r"no result .* within 2s"),
    ):
        await driver.install(webhook_job(tmp_path, base, timeout_seconds=2))
    assert 2 <= time.monotonic() - started < 10
    [callback] = automation.callbacks
    assert callback.status_code == 401
    assert callback.headers["content-type"] == "application/problem+json"
    assert "does not match" in callback.json()["detail"]


async def test_no_result_within_the_timeout_fails_the_step(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(call_back=False)
    driver = drivers(deploy_settings, db)["webhook"]
    with (
        running(automation, automation_port) as base,
        pytest.raises(DriverError, match="within 1s"),
    ):
        await driver.install(webhook_job(tmp_path, base, timeout_seconds=1))
    assert len(automation.requests) == 1


async def test_a_result_is_polled_at_the_status_url(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(call_back=False, pending=2, previous="1.8")
    driver = drivers(deploy_settings, db)["webhook"]
    with running(automation, automation_port) as base:
        job = webhook_job(tmp_path, base, status_url=f"{base}/status")
        assert await driver.install(job) == "1.8"
    assert automation.polls == 3


async def test_a_status_answer_signed_with_another_secret_fails_the_step(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    automation = Automation(call_back=False, answer_secret=b"guessed")
    driver = drivers(deploy_settings, db)["webhook"]
    with running(automation, automation_port) as base:
        job = webhook_job(tmp_path, base, status_url=f"{base}/status")
        with pytest.raises(DriverError, match="cannot be trusted"):
            await driver.install(job)


async def test_a_request_the_automation_refuses_fails_at_once(
    tmp_path: Path, deploy_settings: Settings, db: Database, automation_port: int
) -> None:
    other = Settings(**{**deploy_settings.model_dump(), "webhook_secrets": {"automation": "x"}})
    automation = Automation()
    with (
        running(automation, automation_port) as base,
        pytest.raises(DriverError, match=r"refused .* 401"),
    ):
        await drivers(other, db)["webhook"].install(webhook_job(tmp_path, base))
    assert automation.refused


# --- the callback route itself ---------------------------------------------------------------


async def awaiting(db: Database) -> tuple[uuid.UUID, str]:
    """A request of target `web-1` awaiting its result; its deployment and idempotency id."""
    deployment = uuid.uuid4()
    ident = f"{deployment}:web-1:install"
    async with db.unit_of_work() as uow:
        await webhook_results.expect(
            uow, deployment, "web-1", "install", ident, "automation", datetime.now(UTC)
        )
        await uow.commit()
    return deployment, ident


def signed(body: dict[str, Any], secret: bytes = SECRET) -> dict[str, Any]:
    raw = json.dumps(body).encode()
    return {"content": raw, "headers": signing.sign(secret, raw)}


async def test_the_callback_route_keeps_the_first_result(
    deploy_svc: httpx.AsyncClient, db: Database
) -> None:
    deployment, ident = await awaiting(db)
    path = f"/webhooks/{deployment}/web-1"
    result = {"idempotency_id": ident, "outcome": "succeeded", "previous": "1.0"}
    assert (await deploy_svc.post(path, **signed(result))).status_code == 204
    assert (await deploy_svc.post(path, **signed(result))).status_code == 204
    changed = await deploy_svc.post(path, **signed({**result, "outcome": "failed"}))
    assert changed.status_code == 409
    async with db.unit_of_work() as uow:
        kept = await webhook_results.result(uow, ident)
    assert kept == webhook_results.Result("succeeded", None, "1.0")


async def test_the_callback_route_answers_404_where_no_result_is_awaited(
    deploy_svc: httpx.AsyncClient, db: Database
) -> None:
    deployment, ident = await awaiting(db)
    body = signed({"idempotency_id": ident, "outcome": "succeeded"})
    for path in (f"/webhooks/{uuid.uuid4()}/web-1", f"/webhooks/{deployment}/web-2"):
        answer = await deploy_svc.post(path, **body)
        assert answer.status_code == 404, path
        assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"outcome": "done"}, 422, "outcome"),
        ({"outcome": "pending"}, 422, "outcome"),
        ({"idempotency_id": "someone-else:web-1:install"}, 422, "idempotency_id"),
    ],
)
async def test_the_callback_route_names_the_field_at_fault(
    deploy_svc: httpx.AsyncClient, db: Database, change: dict[str, str], status: int, field: str
) -> None:
    deployment, ident = await awaiting(db)
    body = {"idempotency_id": ident, "outcome": "succeeded", **change}
    answer = await deploy_svc.post(f"/webhooks/{deployment}/web-1", **signed(body))
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_the_callback_route_refuses_unsigned_stale_or_malformed_callbacks(
    deploy_svc: httpx.AsyncClient, db: Database
) -> None:
    deployment, ident = await awaiting(db)
    path = f"/webhooks/{deployment}/web-1"
    raw = json.dumps({"idempotency_id": ident, "outcome": "succeeded"}).encode()
    stale = signing.sign(SECRET, raw, now=time.time() - 301)
    for headers in ({}, stale, signing.sign(b"guessed", raw)):
        answer = await deploy_svc.post(path, content=raw, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["content-type"] == "application/problem+json"
    malformed = await deploy_svc.post(path, content=b"{", headers=signing.sign(SECRET, b"{"))
    assert malformed.status_code == 400
    async with db.unit_of_work() as uow:
        assert await webhook_results.result(uow, ident) is None
