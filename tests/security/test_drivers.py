"""deploy-svc's drivers within the operator's limits, attacked by a deployer through the real
services (dml-svc and deploy-svc served, PostgreSQL and Kafka real): review rows 1 to 3.

1. A `local` target's verification command prints the service's environment, its token
   file and its parent's environment: no secret reaches an event; the output is in the
   deployment log, redacted; a folder or program outside the operator's limits is a 422.
2. A `kubernetes` target naming Ferry's own namespace, another namespace, a Deployment or an
   image registry the operator did not allow: a 422 before any call to a cluster.
3. A webhook or verification URL at an internal address (the cloud metadata service, the
   Kubernetes API, the database port) is a 422; an automation answering an error body, or
   a redirect to an internal address, fails the step without the body reaching an event and
   without the redirect being followed.
"""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
from pydantic import SecretStr

from deploy_svc.config import Settings as DeploySettings
from deploy_svc.main import spec as deploy_spec
from dml_svc.config import Settings as DmlSettings
from dml_svc.main import spec as dml_spec
from ferry.devports import free_port
from tests.security.leaks import assert_leaked_nowhere
from tests.support.governance import approved
from tests.support.infra import Infra
from tests.support.published import approved_release
from tests.support.services import eventually, serving, settings, unique

WEBHOOK_SECRET = f"whsec-{uuid4().hex}"
PROBLEM = "application/problem+json"
INTERNAL = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "https://kubernetes.default.svc/api/v1/namespaces/ferry/secrets",
    "http://127.0.0.1:15432/",
    "http://localhost:8003/environments",
]


@dataclass
class Stack:
    """A served dml-svc, and what a deploy-svc over one schema is started with."""

    infra: Infra
    dml: httpx.AsyncClient
    topic_prefix: str
    tmp: Path
    token_file: Path
    schema: str
    automation: str
    """The one URL prefix the operator allows: where the test's automation listens."""

    @property
    def roots(self) -> Path:
        return self.tmp / "targets"

    def settings(self, **overrides: Any) -> DeploySettings:
        port = free_port()
        values: dict[str, Any] = {
            "port": port,
            "db_schema": self.schema,
            "public_url": f"http://127.0.0.1:{port}",
            "dml_url": str(self.dml.base_url).rstrip("/"),
            "dml_token_file": self.token_file,
            "work_dir": self.tmp / "work",
            "lease_seconds": 3,
            "executor_poll_seconds": 0.2,
            "webhook_secrets": {"automation": SecretStr(WEBHOOK_SECRET)},
            # The operator's limits under attack.
            "drivers": ["local", "webhook", "kubernetes"],
            "local_roots": [self.roots],
            "local_programs": ["sh", "test"],
            "url_prefixes": [f"{self.automation}/hooks/"],
            "k8s_namespaces": ["payments"],
            "k8s_deployments": ["payments-*"],
            "k8s_image_prefixes": ["registry.example.com/payments/"],
            "own_namespace": "ferry",
        }
        return settings(DeploySettings, self.infra, self.topic_prefix, **{**values, **overrides})

    @asynccontextmanager
    async def deploy(self, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        """deploy-svc, a deployer's client of it."""
        dora = self.infra.issuer.bearer("dora", "deployer")
        async with serving(deploy_spec(self.settings(**overrides)), headers=dora) as client:
            yield client

    async def release(self, version: str = "1.0.0") -> UUID:
        topic = f"{self.topic_prefix}release.events"
        return await approved_release(self.infra, self.dml, topic, version)


@pytest.fixture
async def stack(infra: Infra, topic_prefix: str, tmp_path: Path) -> AsyncIterator[Stack]:
    dml_settings = settings(
        DmlSettings, infra, topic_prefix, media_dir=tmp_path / "dml", scrub_interval_seconds=0
    )
    token = tmp_path / "deploy-svc.token"
    token.write_text(infra.issuer.mint("deploy-svc", ["deployer", "tester"]))
    librarian = infra.issuer.bearer("lib", "dml-librarian")
    async with serving(dml_spec(dml_settings), headers=librarian) as dml:
        automation = f"http://127.0.0.1:{free_port()}"
        yield Stack(infra, dml, topic_prefix, tmp_path, token, unique("deploy"), automation)


async def define(
    stack: Stack, deploy: httpx.AsyncClient, targets: list[dict[str, Any]]
) -> httpx.Response:
    """Define production (a proposal, approved by a change authority) or be refused."""
    body = {"production": True, "targets": targets, "reason": "attack"}
    answer = await deploy.put("/environments/production", json=body)
    if answer.status_code == 202:
        await approved(deploy, stack.infra, answer)
    return answer


def assert_refused(answer: httpx.Response, field: str, says: str) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM
    errors = answer.json()["errors"]
    assert [e["field"] for e in errors] == [field], errors
    assert says in errors[0]["message"], errors


async def assert_nothing_defined(deploy: httpx.AsyncClient) -> None:
    # Refused before anything is proposed or recorded.
    assert (await deploy.get("/environments/production")).status_code == 404


async def deploy_and_wait(stack: Stack, deploy: httpx.AsyncClient) -> dict[str, Any]:
    """Plan the release everywhere once deploy-svc knows it; the deployment once ended."""
    release_id = await stack.release()
    request = {"release_id": str(release_id), "environment": "production"}

    async def planned() -> httpx.Response | None:
        answer = await deploy.post("/deployments", json=request)
        pending = answer.status_code in (409, 422) and (
            "not available" in answer.text or "not heard" in answer.text
        )
        return None if pending else answer

    answer = await eventually(planned, what="deploy-svc to learn of the release")
    assert answer.status_code == 201, answer.text
    path = f"/deployments/{answer.json()['id']}"

    async def ended() -> dict[str, Any] | None:
        body: dict[str, Any] = (await deploy.get(path)).json()
        return body if body["state"] in ("completed", "failed", "rolled_back") else None

    return await eventually(ended, timeout=60, what="the deployment to end")


async def log_of(
    stack: Stack, deploy: httpx.AsyncClient, deployment_id: str, role: str = "deployer"
) -> str:
    headers = stack.infra.issuer.bearer(f"reader-{role}", role)
    answer = await deploy.get(f"/deployments/{deployment_id}/log", headers=headers)
    assert answer.status_code == 200, answer.text
    return "\n".join(e["text"] for e in answer.json()["entries"])


# --- Row 1: a verification command's output ------------------------------------------------


async def test_a_verification_command_printing_secrets_leaks_them_into_no_event(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The service's secrets, where its old way of running commands handed them on.
    monkeypatch.setenv("FERRY_DEPLOY_WEBHOOK_SECRETS", json.dumps({"automation": WEBHOOK_SECRET}))
    token = stack.token_file.read_text()
    password = urlsplit(stack.infra.database_url).password
    assert password, "the test database's URL carries a password"
    secrets = [WEBHOOK_SECRET, token, f":{password}@"]
    spy = (
        f"env; cat {stack.token_file}; echo; tr '\\000' '\\n' < /proc/$PPID/environ; "
        "echo Authorization: Bearer 0123456789abcdef0123456789abcdef; exit 1"
    )
    target = {
        "name": "web-1",
        "driver": "local",
        "settings": {"path": str(stack.roots / "web-1"), "verify_command": ["sh", "-c", spy]},
    }
    async with stack.deploy() as deploy:
        assert (await define(stack, deploy, [target])).status_code == 202
        done = await deploy_and_wait(stack, deploy)
        assert done["state"] == "rolled_back", done
        reason = done["failed"]["web-1"]
        assert reason == "verification failed: sh exited with 1 (output in the log)", reason

        looked_at = await assert_leaked_nowhere(
            stack.infra, stack.topic_prefix, [stack.schema], secrets
        )
        assert looked_at > 5
        for role in ("deployer", "auditor", "release-manager"):
            log = await log_of(stack, deploy, done["id"], role)
            assert "FERRY_RELEASE_VERSION=1.0.0" in log  # the command ran, and printed
            assert "[redacted]" in log
            for secret in [*secrets, "0123456789abcdef0123456789abcdef"]:
                assert secret not in log, secret[:6]
            assert "FERRY_DEPLOY_WEBHOOK_SECRETS" not in log  # not in the command's env
        viewer = stack.infra.issuer.bearer("vic", "viewer")
        refused = await deploy.get(f"/deployments/{done['id']}/log", headers=viewer)
        assert refused.status_code == 403


@pytest.mark.parametrize(
    ("settings", "field", "says"),
    [
        ({"path": "/etc/cron.d/ferry"}, "path", "must be a folder under one of"),
        ({"path": "{roots}/../../outside"}, "path", "'..'"),
        ({"path": "{roots}/web\x1b[2J"}, "path", "control characters"),
        (
            {"path": "{roots}/web", "verify_command": ["python3", "-c", "print(1)"]},
            "verify_command.0",
            "not a program allowed",
        ),
        (
            {"path": "{roots}/web", "verify_command": ["sh", "-c", "true\nrm -rf /"]},
            "verify_command.2",
            "control characters",
        ),
    ],
)
async def test_a_local_target_outside_the_operators_limits_is_refused(
    stack: Stack, settings: dict[str, Any], field: str, says: str
) -> None:
    filled = json.loads(json.dumps(settings).replace("{roots}", str(stack.roots)))
    target = {"name": "web-1", "driver": "local", "settings": filled}
    async with stack.deploy() as deploy:
        assert_refused(await define(stack, deploy, [target]), f"targets.0.settings.{field}", says)
        await assert_nothing_defined(deploy)
    assert not stack.roots.exists()


async def test_a_driver_the_operator_did_not_enable_is_refused(stack: Stack) -> None:
    target = {"name": "web-1", "driver": "local", "settings": {"path": str(stack.roots / "w")}}
    async with stack.deploy(drivers=["webhook", "kubernetes"]) as deploy:
        answer = await define(stack, deploy, [target])
        assert_refused(answer, "targets.0.driver", "FERRY_DEPLOY_DRIVERS): kubernetes, webhook")
        await assert_nothing_defined(deploy)


async def test_a_target_the_limits_no_longer_allow_fails_its_step_saying_so(stack: Stack) -> None:
    old_root = stack.tmp / "old-targets"
    target = {"name": "web-1", "driver": "local", "settings": {"path": str(old_root / "web-1")}}
    async with stack.deploy(local_roots=[old_root]) as deploy:
        assert (await define(stack, deploy, [target])).status_code == 202
    # The operator narrows the limits and restarts deploy-svc: the environment stays defined.
    async with stack.deploy() as deploy:
        done = await deploy_and_wait(stack, deploy)
    assert done["state"] == "rolled_back", done
    assert "no longer allowed: path: must be a folder under" in done["failed"]["web-1"]
    assert not old_root.exists()


# --- Row 2: kubernetes targets -------------------------------------------------------------

KUBERNETES = {
    "namespace": "payments",
    "deployment": "payments-api",
    "container": "api",
    "image": "registry.example.com/payments/api:{version}",
}


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"namespace": "ferry", "deployment": "dml-svc"}, "namespace", "Ferry's own namespace"),
        ({"namespace": "kube-system"}, "namespace", "must be one of: payments"),
        ({"deployment": "dml-svc"}, "deployment", "must match one of: payments-*"),
        ({"image": "evil.example.com/payments/api:{version}"}, "image", "must start with"),
        ({"image": "registry.example.com/payments.evil/x:{version}"}, "image", "must start with"),
    ],
)
async def test_a_kubernetes_target_outside_the_operators_limits_is_refused(
    stack: Stack, change: dict[str, str], field: str, says: str
) -> None:
    target = {"name": "api-1", "driver": "kubernetes", "settings": {**KUBERNETES, **change}}
    # No cluster is configured here: a refusal comes before any call to one.
    async with stack.deploy() as deploy:
        assert_refused(await define(stack, deploy, [target]), f"targets.0.settings.{field}", says)
        await assert_nothing_defined(deploy)


async def test_ferrys_own_namespace_is_refused_even_if_the_operator_lists_it(
    stack: Stack,
) -> None:
    with pytest.raises(ValueError, match="Ferry's own namespace"):
        stack.settings(k8s_namespaces=["payments", "ferry"])


# --- Row 3: webhook and verification URLs --------------------------------------------------


@pytest.mark.parametrize("url", INTERNAL)
@pytest.mark.parametrize("setting", ["url", "status_url", "verify_url"])
async def test_an_internal_url_is_refused(stack: Stack, url: str, setting: str) -> None:
    allowed = f"{stack.automation}/hooks/deploy"
    if setting == "verify_url":
        target = {"driver": "local", "settings": {"path": str(stack.roots / "w"), setting: url}}
    else:
        settings = {"url": allowed, "secret": "automation", setting: url}
        target = {"driver": "webhook", "settings": settings}
    async with stack.deploy() as deploy:
        answer = await define(stack, deploy, [{"name": "t-1", **target}])
        assert_refused(answer, f"targets.0.settings.{setting}", "must start with one of")
        await assert_nothing_defined(deploy)


@dataclass
class Answers:
    """A web server answering every request the same way, counting them."""

    status: int
    body: bytes = b""
    location: str | None = None
    hits: int = 0

    def handler(self) -> type[BaseHTTPRequestHandler]:
        answers = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                answers.hits += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(answers.status)
                if answers.location:
                    self.send_header("Location", answers.location)
                self.send_header("Content-Length", str(len(answers.body)))
                self.end_headers()
                self.wfile.write(answers.body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def answering(answers: Answers, base: str | None = None) -> Iterator[str]:
    port = int(base.rsplit(":", 1)[1]) if base else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), answers.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_an_error_body_the_automation_answers_reaches_no_event(stack: Stack) -> None:
    marker = f"internal-detail-{uuid4().hex[:12]}"
    body = f'{{"error": "{marker}", "auth": "Bearer {WEBHOOK_SECRET}"}}'.encode()
    settings = {"url": f"{stack.automation}/hooks/deploy", "secret": "automation"}
    target = {"name": "hook-1", "driver": "webhook", "settings": settings}
    with answering(Answers(400, body), stack.automation):
        async with stack.deploy() as deploy:
            assert (await define(stack, deploy, [target])).status_code == 202
            done = await deploy_and_wait(stack, deploy)
            log = await log_of(stack, deploy, done["id"])
    assert done["state"] == "rolled_back", done
    assert done["failed"]["hook-1"].endswith("refused the install request: 400"), done
    await assert_leaked_nowhere(stack.infra, stack.topic_prefix, [stack.schema], [marker])
    assert marker in log  # the body is for the people reading the log
    assert WEBHOOK_SECRET not in log


async def test_a_redirect_to_an_internal_address_is_not_followed(stack: Stack) -> None:
    internal = Answers(200, b"metadata: credentials")
    with answering(internal) as inside:
        redirect = Answers(307, location=f"{inside}/latest/meta-data/")
        settings = {"url": f"{stack.automation}/hooks/deploy", "secret": "automation"}
        target = {"name": "hook-1", "driver": "webhook", "settings": settings}
        with answering(redirect, stack.automation):
            async with stack.deploy() as deploy:
                assert (await define(stack, deploy, [target])).status_code == 202
                done = await deploy_and_wait(stack, deploy)
    assert done["state"] == "rolled_back", done
    assert done["failed"]["hook-1"].endswith("refused the install request: 307"), done
    assert redirect.hits == 1
    assert internal.hits == 0
