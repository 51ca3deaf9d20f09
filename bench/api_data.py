"""What the `api` section's requests act on: the bodies, 10,000 releases to list (and as
many rows in the baseline's table), fresh releases and cases for the changes.

Releases are created through the API (httpx, 16 at a time, exactly as many as asked, within
a time bound) and counted through it: their numbers, read model and events are then
exactly the service's own. Early Life Support cases open only on a
deployment's completion, so they are opened in els-svc's store by its own handler.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import asyncpg
import httpx
import orjson

from bench.common import BenchError, Config, progress
from bench.processes import Server, log_tail
from els_svc.handlers import cases as els_handlers
from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.deploy import DeploymentCompleted
from ferry.eventsigning import EventSigner

MEDIA_BYTES = 64 << 10
SEED_CONNECTIONS = 16
SEED_MIN_RATE = 10.0
"""Releases/s below which seeding gives up: a tenth of what release-svc managed in #16."""
SEED_SLACK_SECONDS = 30.0
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


async def seed_releases(release: Server, headers: dict[str, str], count: int) -> float:
    """Plan exactly `count` releases through the API, SEED_CONNECTIONS at a time; the rate,
    releases/s. Raises `BenchError` at the first answer that is not 201, if release-svc
    stops answering, or if it is slower than SEED_MIN_RATE on average."""
    seconds = SEED_SLACK_SECONDS + count / SEED_MIN_RATE
    tickets = iter(range(count))  # shared: each worker takes the next until none is left
    planned = 0

    async def plan(http: httpx.AsyncClient) -> None:
        nonlocal planned
        for _ in tickets:
            try:
                answer = await http.post("/releases", json=PLAN)
            except httpx.HTTPError as exc:
                raise BenchError(
                    f"seeding: {release.name} stopped answering: {exc!r}; {log_tail(release)}"
                ) from exc
            if answer.status_code != 201:
                raise BenchError(
                    f"seeding: POST /releases answered {answer.status_code}: "
                    f"{answer.text[:500]}; {log_tail(release)}"
                )
            planned += 1
            if planned % 1000 == 0:
                progress(f"api: {planned:,} of {count:,} releases planned")

    started = time.monotonic()
    async with httpx.AsyncClient(base_url=release.url, headers=headers, timeout=30) as http:
        try:
            async with asyncio.timeout(seconds), asyncio.TaskGroup() as workers:
                for _ in range(SEED_CONNECTIONS):
                    workers.create_task(plan(http))
        except TimeoutError:
            raise BenchError(
                f"seeding: only {planned:,} of {count:,} releases planned in {seconds:g} s; "
                f"{release.name} is slower than {SEED_MIN_RATE:g}/s; {log_tail(release)}"
            ) from None
        except ExceptionGroup as failed:
            # The first worker's error says what went wrong; the others were cancelled.
            raise failed.exceptions[0] from failed
    return count / (time.monotonic() - started)


async def listed_releases(release: Server, headers: dict[str, str]) -> int:
    """How many releases `GET /releases` lists, page by page."""
    found = 0
    cursor: str | None = None
    async with httpx.AsyncClient(base_url=release.url, headers=headers, timeout=30) as http:
        while True:
            params = {"limit": "200"} | ({"cursor": cursor} if cursor else {})
            answer = await http.get("/releases", params=params)
            if answer.status_code != 200:
                raise BenchError(f"GET /releases answered {answer.status_code}: {answer.text}")
            page = answer.json()
            found += len(page["items"])
            cursor = page["next"]
            if cursor is None:
                return found


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
