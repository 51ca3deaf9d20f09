"""An upgrade across a migration without an outage, and a rollback after it.

Two releases of release-svc run as processes against one database: this code, and the next
release (a copy of it with one more migration, an expand-only one). Requests go through a
balancer that, as a Kubernetes Service does, sends them only to instances whose `/readyz`
answers 200, and stops sending to an instance before it is stopped. The rollout follows a
Deployment's: the next release's migration Job, then a new instance up and an old one down,
twice; then a rollback to this release with the schema left migrated. No request fails.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ferry import migrations
from ferry.db import Database
from ferry.devports import free_port
from tests.support.infra import Infra
from tests.support.services import Process, eventually, stop_all, unique, until_ready

PACKAGE = Path(__file__).resolve().parents[2] / "services" / "release-svc" / "src" / "release_svc"
PLAN = {
    "name": "Upgrade",
    "version": "1.0.0",
    "planned_start": "2027-03-01",
    "planned_end": "2027-03-05",
}


def next_release(folder: Path) -> Path:
    """A copy of release-svc with one more migration: a nullable column, which the code
    before it does not know of and does not mind."""
    copy = folder / "release_svc"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    head = migrations.head(PACKAGE / "migrations")
    (copy / "migrations" / "versions" / "9001_next_release.py").write_text(
        f'''"""The next release's expand-only migration (tests/e2e/test_upgrade.py)."""

from ferry import migrations
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = migrations.target_schema()
    op.execute(f'ALTER TABLE "{{schema}}".events ADD COLUMN next_release_note text')
    migrations.serves_code_from(revision, "{head}")
'''
    )
    return folder


async def schema_revision(infra: Infra, schema: str) -> str | None:
    db = Database(infra.database_url, schema, "probe")
    try:
        async with db.unit_of_work() as uow:
            return await migrations.applied(uow)
    finally:
        await db.dispose()


@dataclass
class Instance:
    name: str
    process: Process
    url: str
    served: int = 0


@dataclass
class Balancer:
    """Routes each request to a ready instance in turn, as a Service's endpoints do."""

    instances: list[Instance] = field(default_factory=list)
    ready: set[str] = field(default_factory=set)
    lost_readiness: list[str] = field(default_factory=list)
    _turn: itertools.count[int] = field(default_factory=itertools.count)

    async def watch(self, client: httpx.AsyncClient) -> None:
        """Poll every instance's readiness, as the kubelet's probe does."""
        while True:
            for instance in list(self.instances):
                try:
                    ok = (await client.get(f"{instance.url}/readyz")).status_code == 200
                except httpx.TransportError:
                    ok = False
                if ok:
                    self.ready.add(instance.name)
                elif instance.name in self.ready:
                    self.ready.discard(instance.name)
                    self.lost_readiness.append(instance.name)
            await asyncio.sleep(0.2)

    def pick(self) -> Instance | None:
        ready = [i for i in self.instances if i.name in self.ready]
        return ready[next(self._turn) % len(ready)] if ready else None

    def remove(self, instance: Instance) -> None:
        self.instances.remove(instance)
        self.ready.discard(instance.name)


async def load(balancer: Balancer, client: httpx.AsyncClient, failures: list[str]) -> None:
    """Write and read releases through the balancer until cancelled; every failure kept."""
    while True:
        instance = balancer.pick()
        if instance is None:
            failures.append("no instance ready")
            await asyncio.sleep(0.1)
            continue
        try:
            created = await client.post(f"{instance.url}/releases", json=PLAN)
            if created.status_code == 201:
                read = await client.get(f"{instance.url}/releases/{created.json()['id']}")
                if read.status_code == 200:
                    instance.served += 1
                else:
                    failures.append(f"{instance.name}: {read.status_code} {read.text}")
            else:
                failures.append(f"{instance.name}: {created.status_code} {created.text}")
        except httpx.TransportError as exc:
            failures.append(f"{instance.name}: {exc!r}")
        await asyncio.sleep(0.02)


@pytest.mark.timeout(240)
async def test_a_rollout_and_a_rollback_across_a_migration_fail_no_request(
    infra: Infra, topic_prefix: str, tmp_path: Path
) -> None:
    schema = unique("e2e_upgrade")
    env = {
        "FERRY_DATABASE_URL": infra.database_url,
        **infra.kafka_env("release-svc"),
        "FERRY_TOPIC_PREFIX": topic_prefix,
        "FERRY_RELEASE_DB_SCHEMA": schema,
        "FERRY_MIGRATE_ON_START": "false",
        **infra.auth_env(),
        **infra.signing_env("release-svc"),
    }
    this_release: dict[str, str] = {}
    following = {"PYTHONPATH": str(next_release(tmp_path / "next"))}

    def migrate(release: Mapping[str, str]) -> None:
        """The release's migration Job."""
        done = subprocess.run(
            [sys.executable, "-m", "release_svc", "migrate"],
            env={**env, **release, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-3000:]

    started: list[Process] = []

    async def up(name: str, release: Mapping[str, str]) -> Instance:
        port = free_port()
        process = Process(
            "release_svc",
            {**env, **release, "FERRY_RELEASE_PORT": str(port)},
            tmp_path / f"{name}.log",
        )
        started.append(process)
        instance = Instance(name, process, f"http://127.0.0.1:{port}")
        async with httpx.AsyncClient(base_url=instance.url, timeout=10) as probe:
            await until_ready(probe)
        balancer.instances.append(instance)

        async def in_service() -> bool:
            return name in balancer.ready

        await eventually(in_service, timeout=10, what=f"{name} in the balancer")
        return instance

    async def down(instance: Instance) -> None:
        # The endpoint goes first, then the pod gets SIGTERM (a preStop pause covers the gap).
        balancer.remove(instance)
        await asyncio.sleep(0.5)
        instance.process.stop()

    balancer = Balancer()
    failures: list[str] = []
    rita = infra.issuer.bearer("rita", "release-manager")
    async with httpx.AsyncClient(timeout=30, headers=rita) as client:
        watcher = asyncio.create_task(balancer.watch(client))
        migrate(this_release)
        old = [await up("old-1", this_release), await up("old-2", this_release)]
        traffic = asyncio.create_task(load(balancer, client, failures))
        try:
            await asyncio.sleep(1)
            migrate(following)  # the next release's Job, while this release serves
            assert await schema_revision(infra, schema) == "9001", "the next release migrated"
            await asyncio.sleep(1)
            assert balancer.ready == {"old-1", "old-2"}, "the old release left the Service"
            new = []
            for previous, name in zip(old, ("new-1", "new-2"), strict=True):
                new.append(await up(name, following))
                await down(previous)
                await asyncio.sleep(0.5)
            # Rolled back: this release's migrate Job (as `helm rollback` re-creates it)
            # leaves the schema as it is, and this release serves again.
            migrate(this_release)
            assert await schema_revision(infra, schema) == "9001"
            back = await up("back-1", this_release)
            for instance in new:
                await down(instance)
            await asyncio.sleep(1)
        finally:
            traffic.cancel()
            watcher.cancel()
            stop_all(started)

    assert failures == []
    assert balancer.lost_readiness == []
    for instance in [*old, *new, back]:
        assert instance.served > 0, f"{instance.name} served nothing"
