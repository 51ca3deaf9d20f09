"""Backups that restore: deploy/backup/backup.sh takes each service's schema and the DML's
blobs while the four services run; it is restored over the stopped stack and started again, and
`ferry audit verify` finds the log clean, the read models answer as before and the media
download with their digests. A backup older than the newest events (PostgreSQL restored to
a point behind Kafka) is reported by `ferry audit verify` as the streams the topic has and
the store has not."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.infra import Infra
from tests.support.journey import available_release
from tests.support.services import (
    SERVICE_MODULES,
    Process,
    eventually,
    read_topic,
    start_all,
    stop_all,
    unique,
    until_ready,
)

ROOT = Path(__file__).resolve().parents[2]
BACKUP = ROOT / "deploy" / "backup"


def plan(name: str) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    return {
        "name": name,
        "version": "1.0.0",
        "planned_start": str(today),
        "planned_end": str(today + timedelta(days=30)),
    }


class Stack:
    """The four services as processes, always on the same schemas and blob store."""

    def __init__(self, infra: Infra, topic_prefix: str, folder: Path) -> None:
        self.infra, self.topic_prefix, self.folder = infra, topic_prefix, folder
        self.schemas = {
            f"FERRY_{name.upper()}_DB_SCHEMA": unique(f"e2e_{name}") for name in SERVICE_MODULES
        }
        self.processes: list[Process] = []
        self.urls: dict[str, str] = {}

    @property
    def env(self) -> dict[str, str]:
        """What the backup scripts and `ferry audit verify` need."""
        return {
            "FERRY_DATABASE_URL": self.infra.database_url,
            "FERRY_DML_MEDIA_DIR": str(self.folder / "dml-media"),
            "FERRY_TOPIC_PREFIX": self.topic_prefix,
            **self.schemas,
        }

    async def start(self) -> None:
        self.processes, self.urls = start_all(
            self.infra, self.topic_prefix, self.folder, self.schemas
        )
        for url in self.urls.values():
            async with httpx.AsyncClient(base_url=url, timeout=10) as probe:
                await until_ready(probe, timeout=90)

    def stop(self) -> None:
        stop_all(self.processes)

    def script(self, name: str, folder: Path, ok: bool = True) -> str:
        """Run a backup script; what it said."""
        done = subprocess.run(
            [str(BACKUP / name), str(folder)],
            env={"PATH": "/usr/bin:/bin", **self.env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert (done.returncode == 0) is ok, done.stderr
        return done.stderr

    def verify(self) -> tuple[int, dict[str, Any]]:
        """`ferry audit verify --json` as the read-only auditor; its exit status and report."""
        env = {
            "PATH": "/usr/bin:/bin",
            **self.env,
            **self.infra.user_env("ferry-auditor"),
            "FERRY_EVENT_TRUSTED_KEYS": json.dumps(self.infra.keys.trusted()),
        }
        done = subprocess.run(
            [str(Path(sys.executable).parent / "ferry"), "audit", "verify", "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode in (0, 1), done.stderr
        report: dict[str, Any] = json.loads(done.stdout)
        return done.returncode, report


@pytest.mark.timeout(420)
async def test_a_backup_of_a_running_stack_restores_and_an_older_one_is_caught(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    stack = Stack(infra, topic_prefix, tmp_path)
    rita = infra.issuer.bearer("rita", "release-manager")
    await stack.start()
    try:
        async with httpx.AsyncClient(timeout=30, headers=rita) as client:
            backout = {"trigger_conditions": ["errors"], "steps": ["switch back"]}
            path = await available_release(
                client, stack.urls, infra, plan("Ledger"), {"backout-plan": backout}
            )
            release = (await client.get(path)).json()
            (medium,) = release["package"]["media"]
            stack.script("backup.sh", tmp_path / "older")
            # After the older backup: one more release, on the topic and in the store.
            later = await client.post(f"{stack.urls['release']}/releases", json=plan("Later"))
            assert later.status_code == 201, later.text
            topic = f"{topic_prefix}release.events"

            async def published() -> bool:
                events = await read_topic(infra.kafka, topic, expect=1, settle=0.2)
                return any(e.subject == later.json()["id"] for e in events)

            await eventually(published, what="the later release on the topic")
            stack.script("backup.sh", tmp_path / "newer")
    finally:
        stack.stop()

    # A damaged backup is refused before anything is touched.
    damaged = tmp_path / "damaged"
    shutil.copytree(tmp_path / "newer", damaged)
    with (damaged / "dml-media.tar").open("ab") as tar:
        tar.write(b"\0")
    assert "does not match its MANIFEST" in stack.script("restore.sh", damaged, ok=False)

    # Restored over the stack as it stands (stopped): the schemas and blobs are replaced.
    stack.script("restore.sh", tmp_path / "newer")
    await stack.start()
    try:
        status, report = await asyncio.to_thread(stack.verify)
        assert (status, report["problems"]) == (0, []), report
        async with httpx.AsyncClient(timeout=30, headers=rita) as client:
            release_svc, dml = stack.urls["release"], stack.urls["dml"]
            assert (await client.get(f"{release_svc}{path[path.index('/releases') :]}")).json() == (
                release
            )
            listed = (await client.get(f"{release_svc}/releases")).json()
            names = {r["name"] for r in listed["items"]}
            assert {"Ledger", "Later"} <= names, listed
            librarian = infra.issuer.bearer("lib", "dml-librarian")
            download = await client.get(
                f"{dml}/media/{medium['name']}/{medium['version']}/content", headers=librarian
            )
            assert download.status_code == 200, download.text
            assert hashlib.sha256(download.content).hexdigest() == medium["sha256"]
    finally:
        stack.stop()

    # PostgreSQL restored to a point behind Kafka: the later release is on the topic only.
    stack.script("restore.sh", tmp_path / "older")
    status, report = await asyncio.to_thread(stack.verify)
    assert status == 1
    problems = report["problems"]
    # Every problem is a store behind its topic, and the later release is among them.
    assert {(p["where"], p["kind"]) for p in problems} == {("store", "truncated")}, problems
    assert f"release-{later.json()['id']}" in {p["stream"] for p in problems}, problems
    assert all("not here" in p["detail"] for p in problems), problems
