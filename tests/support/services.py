"""Running services for tests: in-process (uvicorn in the test's loop) or as real processes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer

from ferry import outbound
from ferry.devports import free_port
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.eventsigning import CHANGE_TOOL_DECISIONS, OWNERS, EventSigner
from ferry.kafka import Message, Publisher
from ferry.kafka_client import KafkaSettings, uninterrupted
from ferry.service import ServiceSpec, create_app
from ferry.settings import ServiceSettings
from ferry.testing import envelope_for
from tests.support import changetool
from tests.support.infra import Infra

S = TypeVar("S", bound=ServiceSettings)
T = TypeVar("T")


def unique(name: str) -> str:
    return f"{name}_{uuid.uuid4().hex[:10]}"


def settings(cls: type[S], infra: Infra, topic_prefix: str, **overrides: Any) -> S:
    """Settings of one service for one test: its own schema, port and topics."""
    service = cls.__module__.split("_svc")[0].split(".")[-1] + "-svc"
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        **infra.kafka_settings(service),
        "topic_prefix": topic_prefix,
        "port": free_port(),
        "db_schema": unique(cls.__module__.split("_svc")[0].split(".")[-1]),
        **infra.auth_settings(),
        **infra.signing_settings(service),
        **overrides,
    }
    return cls(**values)


@asynccontextmanager
async def serving(
    spec: ServiceSpec, headers: dict[str, str] | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve the app on a real port in this event loop; a client pointed at it, sending
    `headers` (e.g. a bearer token) with every request."""
    # A test failing while a client (a browser's event feed) holds a stream open must not
    # wait for that client to leave.
    config = uvicorn.Config(
        create_app(spec),
        host="127.0.0.1",
        port=spec.settings.port,
        log_config=None,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise RuntimeError(f"{spec.name} exited during start-up")
        await asyncio.sleep(0.05)
    try:
        async with outbound.client(
            base_url=f"http://127.0.0.1:{spec.settings.port}", headers=headers, timeout=30
        ) as client:
            yield client
    finally:
        server.should_exit = True
        await task


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 30, what: str = "condition"
) -> T:
    """Poll `probe` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.1)


async def until_ready(client: httpx.AsyncClient, timeout: float = 60) -> None:
    """Wait until the service `client` points at answers `/readyz` with 200."""

    async def ready() -> bool:
        try:
            return (await client.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False

    await eventually(ready, timeout=timeout, what=f"{client.base_url} ready")


def requests_counted(metrics: str, method: str, route: str, status: int) -> float:
    """How many requests `/metrics` counts for a route template and status (release-svc)."""
    labels = f'method="{method}",route="{route}",service="release-svc",status="{status}"'
    prefix = f"ferry_http_request_duration_seconds_count{{{labels}}} "
    found = [line for line in metrics.splitlines() if line.startswith(prefix)]
    return float(found[0].removeprefix(prefix)) if found else 0.0


async def read_topic(
    kafka: KafkaSettings, topic: str, *, expect: int, timeout: float = 30, settle: float = 2.0
) -> list[Envelope]:
    """Every envelope on `topic` once `expect` arrived and `settle` s passed with no more."""
    consumer = AIOKafkaConsumer(
        topic, **kafka.consumer_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    found: list[Envelope] = []
    deadline = time.monotonic() + timeout
    try:
        await uninterrupted(consumer.start())
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            records = [r for rs in batch.values() for r in rs]
            found.extend(Envelope.from_json(r.value) for r in records)
            if len(found) >= expect:
                quiet_since = quiet_since if not records and quiet_since else time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    break
    finally:
        await consumer.stop()
    return found


class Process:
    """A service run as its own OS process, as in production."""

    def __init__(self, module: str, env: dict[str, str], log: Path) -> None:
        self.module = module
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module],
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.log_path = log

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


def stop_all(processes: Sequence[Process]) -> None:
    """Stop every process, then show the log's end of any that did not exit cleanly."""
    for process in processes:
        process.stop()
    for process in processes:
        if process.proc.returncode not in (0, -signal.SIGTERM):
            print(f"--- {process.module} exited {process.proc.returncode}\n{process.tail()}")


SERVICE_MODULES: Final = {
    "release": "release_svc",
    "dml": "dml_svc",
    "deploy": "deploy_svc",
    "els": "els_svc",
}


def start_all(
    infra: Infra, topic_prefix: str, folder: Path, settings: Mapping[str, str] | None = None
) -> tuple[list[Process], dict[str, str]]:
    """The four services as processes wired to each other, each in its own schema, with its
    log in `folder` and `settings` in its environment besides what wires them; the processes
    and their base URLs by short name ("release", ...)."""
    run = uuid.uuid4().hex[:8]
    env = {
        "FERRY_DATABASE_URL": infra.database_url,
        "FERRY_TOPIC_PREFIX": topic_prefix,
        **infra.auth_env(),
    }
    urls: dict[str, str] = {}
    for name in SERVICE_MODULES:
        port = free_port()
        env[f"FERRY_{name.upper()}_PORT"] = str(port)
        env[f"FERRY_{name.upper()}_DB_SCHEMA"] = f"e2e_{name}_{run}"
        urls[name] = f"http://127.0.0.1:{port}"
    token = folder / "deploy-svc.token"
    token.write_text(infra.issuer.mint("deploy-svc", ["deployer", "tester"]))
    env |= {
        "FERRY_DML_MEDIA_DIR": str(folder / "dml-media"),
        "FERRY_DML_SCRUB_INTERVAL_SECONDS": "0",
        "FERRY_DEPLOY_DML_URL": urls["dml"],
        "FERRY_DEPLOY_DML_TOKEN_FILE": str(token),
        "FERRY_DEPLOY_WORK_DIR": str(folder / "deploy-work"),
        "FERRY_DEPLOY_EXECUTOR_POLL_SECONDS": "0.2",
        # The operator's limits: local targets, in the test's folder only.
        "FERRY_DEPLOY_DRIVERS": '["local"]',
        "FERRY_DEPLOY_LOCAL_ROOTS": json.dumps([str(folder)]),
        "FERRY_ELS_EVALUATE_SECONDS": "1",
        **(settings or {}),
    }
    processes = [
        Process(
            module,
            env | infra.signing_env(f"{name}-svc") | infra.kafka_env(f"{name}-svc"),
            folder / f"{module}.log",
        )
        for name, module in SERVICE_MODULES.items()
    ]
    return processes, urls


def start_service(
    name: str, infra: Infra, topic_prefix: str, log: Path, **env: str
) -> tuple[Process, str]:
    """Service `name` (e.g. "release") as a process on a free port, in a schema of its own;
    the process and its base URL."""
    port = free_port()
    settings = {
        "FERRY_DATABASE_URL": infra.database_url,
        **infra.kafka_env(f"{name}-svc"),
        "FERRY_TOPIC_PREFIX": topic_prefix,
        f"FERRY_{name.upper()}_PORT": str(port),
        f"FERRY_{name.upper()}_DB_SCHEMA": unique(f"e2e_{name}"),
        **infra.auth_env(),
        **infra.signing_env(f"{name}-svc"),
        **env,
    }
    return Process(f"{name}_svc", settings, log), f"http://127.0.0.1:{port}"


OWNER: Final = "owner"
"""`publish(signer=OWNER)`: each event signed as the service owning its type would."""


async def publish(
    infra: Infra,
    topic: str,
    *events: Event,
    actor: str = "test",
    signer: EventSigner | Literal["owner"] | None = OWNER,
) -> None:
    """Put `events` on `topic` as the service (or outside tool) owning them would: from
    that service, signed with its key. `signer`: another key to sign with (a forger's),
    or None for unsigned events."""
    publisher = Publisher(infra.kafka, "test-publisher")
    try:
        envelopes = []
        for event in events:
            owner = OWNERS.get(event.type)
            key = infra.keys.signers.get(owner or "") if signer == OWNER else signer
            assert key is None or isinstance(key, EventSigner)
            source = owner or "test"
            envelope = envelope_for(event, actor=actor, source=source, signer=key)
            if event.type in CHANGE_TOOL_DECISIONS and signer == OWNER:
                envelope = changetool.signed(envelope)  # as the change tool MACs it
            envelopes.append(envelope)
        await publisher.publish([Message(topic, e.subject, e.to_json()) for e in envelopes])
    finally:
        await publisher.close()
