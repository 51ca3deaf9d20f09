"""What the `api` section's requests act on: the bodies, 10,000 releases to list (and as
many rows in the baseline's table), fresh releases and cases for the changes.

Releases are created through the API (wrk, concurrently): their numbers, read model and
events are then exactly the service's own. Early Life Support cases open only on a
deployment's completion, so they are opened in els-svc's store by its own handler.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import httpx
import orjson

from bench import wrk
from bench.common import BenchError, Config, progress
from bench.processes import Server
from els_svc import handlers as els_handlers
from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.deploy import DeploymentCompleted
from ferry.eventsigning import EventSigner

MEDIA_BYTES = 64 << 10
META = Meta(actor="bench", correlation_id="bench-api")
PLAN = {
    "name": "Payments 2030.1",
    "version": "2030.1.0",
    "planned_start": "2030-01-07",
    "planned_end": "2030-01-31",
    "description": "a release planned by the benchmark",
    "activities": {"deployment": {"start": "2030-01-20", "end": "2030-01-21"}},
}
RISK = {"likelihood": "medium", "impact": "low", "mitigations": ["canary first"]}
SUMMARY = {
    "identifier": "REL-2030-0001",
    "release_type": "minor",
    "name": "Payments 2030.1",
    "version": "2030.1.0",
    "status": "planned",
    "planned_start": "2030-01-07",
    "planned_end": "2030-01-31",
    "release_manager": "bench",
    "stream_version": 1,
}
"""A baseline row: what the release list holds of a release."""


class Bodies:
    """The request bodies, as files wrk reads."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(exist_ok=True)
        self.folder = folder
        self.plan = self._write("plan.json", orjson.dumps(PLAN))
        self.risk = self._write("risk.json", orjson.dumps(RISK))
        observation = {
            "metric": "error_rate",
            "value": 0.25,
            "observed_at": datetime.now(UTC).isoformat(),
        }
        self.observation = self._write("observation.json", orjson.dumps(observation))
        media = os.urandom(MEDIA_BYTES)
        self.media = self._write("media.bin", media)
        sha256 = base64.b64encode(hashlib.sha256(media).digest()).decode()
        self.media_digest = f"sha-256=:{sha256}:"

    def _write(self, name: str, content: bytes) -> str:
        path = self.folder / name
        path.write_bytes(content)
        return str(path)

    def ids(self, name: str, lines: list[str]) -> str:
        return self._write(name, ("\n".join(lines) + "\n").encode())


async def seed_releases(
    release: Server, bodies: Bodies, headers: dict[str, str], count: int
) -> float:
    """Plan `count` releases through the API, 16 at a time; the rate, releases/s."""
    connections = 16
    load = wrk.Load(
        "static.lua",
        ("POST", "/releases", bodies.plan, str(count // 2)),
        {"Content-Type": "application/json"},
    )
    result = await wrk.run(release.url, load, connections, 3600, headers)
    if result.failed:
        raise BenchError(f"seeding releases: {result.failed} requests failed")
    return result.rate


async def release_count(cfg: Config, release: Server) -> int:
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        count: int = await conn.fetchval(f'SELECT count(*) FROM "{release.schema}".release_list')
        return count
    finally:
        await conn.close()


async def outbox_drained(cfg: Config, server: Server, timeout: float = 180) -> None:
    """Wait until the service's relay has published everything appended so far."""
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        for _ in range(int(timeout * 2)):
            if not await conn.fetchval(f'SELECT count(*) FROM "{server.schema}".outbox'):
                return
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise BenchError(f"{server.name}'s outbox still not published after {timeout:g} s")


async def fresh_releases(release: Server, headers: dict[str, str], count: int) -> list[str]:
    """`count` new releases, as "id etag" lines."""
    async with httpx.AsyncClient(base_url=release.url, headers=headers, timeout=60) as http:
        answers = await asyncio.gather(*(http.post("/releases", json=PLAN) for _ in range(count)))
    for answer in answers:
        if answer.status_code != 201:
            raise BenchError(f"POST /releases answered {answer.status_code}: {answer.text}")
    return [f"{a.json()['id']} {a.headers['ETag']}" for a in answers]


async def fresh_cases(cfg: Config, els: Server, count: int) -> list[str]:
    """`count` open Early Life Support cases, each of a deployment just completed."""
    assert els.key_file is not None
    signer = EventSigner.from_pem(els.key_file.read_bytes())
    db = Database(cfg.database_url, els.schema, source="els-svc", signer=signer)
    opened: list[UUID] = []
    try:
        async with db.unit_of_work() as uow:
            for _ in range(count):
                completed = DeploymentCompleted(
                    deployment_id=uuid4(),
                    release_id=uuid4(),
                    environment="production",
                    services=["payments"],
                    completed_at=datetime.now(UTC),
                )
                await els_handlers.open_case(uow, completed, META)
                opened.append(els_handlers.case_of(completed.deployment_id))
            await uow.commit()
    finally:
        await db.dispose()
    return [str(case_id) for case_id in opened]


async def seed_rows(cfg: Config, bare: Server, count: int) -> list[str]:
    """`count` rows in the baseline's table; the ids of the first 64."""
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        await conn.execute(
            f'INSERT INTO "{bare.schema}".rows (id, data) '
            "SELECT gen_random_uuid(), $1::jsonb || jsonb_build_object('n', i) "
            "FROM generate_series(1, $2) AS i",
            orjson.dumps(SUMMARY).decode(),
            count,
        )
        await conn.execute(f'ANALYZE "{bare.schema}".rows')
        rows = await conn.fetch(f'SELECT id FROM "{bare.schema}".rows ORDER BY seq LIMIT 64')
    finally:
        await conn.close()
    progress(f"api: {count:,} rows in the baseline's table")
    return [str(row["id"]) for row in rows]
