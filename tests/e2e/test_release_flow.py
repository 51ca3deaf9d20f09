"""The four services as separate processes, against the real Kafka and PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from ferry import migrations
from ferry.db import Database
from release_svc.main import MIGRATIONS
from tests.support.infra import Infra
from tests.support.services import Process, eventually, free_port, read_topic

SERVICES = {"release": "release_svc", "dml": "dml_svc", "deploy": "deploy_svc", "els": "els_svc"}


@pytest.fixture
def stack(infra: Infra, topic_prefix: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Start every service as its own process; their base URLs by short name."""
    run = uuid.uuid4().hex[:8]
    env = {
        "FERRY_DATABASE_URL": infra.database_url,
        "FERRY_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "FERRY_TOPIC_PREFIX": topic_prefix,
        **infra.auth_env(),
    }
    urls: dict[str, str] = {}
    for name in SERVICES:
        port = free_port()
        env[f"FERRY_{name.upper()}_PORT"] = str(port)
        env[f"FERRY_{name.upper()}_DB_SCHEMA"] = f"e2e_{name}_{run}"
        urls[name] = f"http://127.0.0.1:{port}"
    processes = [Process(module, env, tmp_path / f"{module}.log") for module in SERVICES.values()]
    try:
        yield urls
    finally:
        for process in processes:
            process.stop()
        for process in processes:
            if process.proc.returncode not in (0, -15):
                print(f"--- {process.module} exited {process.proc.returncode}\n{process.tail()}")


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
        await eventually(lambda url=url: ready(client, url), timeout=60, what=f"{name} ready")

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
        lambda: _library_open(client, f"{stack['deploy']}/catalog/releases/{release_id}"),
        what="deploy-svc learning of the DML entry",
    )
    assert deploy_view["library_state"] == "open"
    await eventually(
        lambda: answer(client, f"{stack['els']}/catalog/releases/{release_id}"),
        what="els-svc learning of the release",
    )

    cancelled = await client.post(
        f"{stack['release']}/releases/{release_id}/cancel",
        json={"reason": "budget cut"},
        headers={"If-Match": '"1"'},
    )
    assert cancelled.status_code == 200, cancelled.text
    for service in ("deploy", "els"):
        await eventually(
            lambda service=service: _cancelled(
                client, f"{stack[service]}/catalog/releases/{release_id}"
            ),
            what=f"{service}-svc learning of the cancellation",
        )

    [opened] = await read_topic(
        infra.kafka_bootstrap, f"{topic_prefix}dml.events", expect=1, settle=0.5
    )
    assert opened.type == "LibraryEntryOpened"
    assert opened.correlationid == "e2e-flow"
    assert opened.actor == "service:dml-svc"
    assert opened.causationid is not None


async def _library_open(client: httpx.AsyncClient, url: str) -> dict[str, str] | None:
    found = await answer(client, url)
    if found is None or found.json()["library_state"] != "open":
        return None
    body: dict[str, str] = found.json()
    return body


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
