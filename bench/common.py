"""What every benchmark shares: the config, the figures, fresh schemas and topics, events.

Every measurement gets a fresh schema (and topic), dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import orjson
from aiokafka.admin import AIOKafkaAdminClient

from ferry import migrations
from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.release import ReleasePlanned, ReleaseRescheduled
from ferry.eventsigning import EventSigner, generate_pem
from ferry.kafka_client import KafkaSettings, uninterrupted

SOURCE = "bench"
META = Meta(actor="bench", correlation_id="bench")
# release-svc's migrations create just the core tables. Located, not imported: the
# services ship no py.typed, so importing `release_svc.main` fails `mypy --strict`.
MIGRATIONS = Path(str(files("release_svc") / "migrations"))
EVENT_COLUMNS = ["event_id", "stream_id", "stream_version", "type", "data", "metadata"]


class BenchError(RuntimeError):
    """The benchmark could not run (not a missed target)."""


@dataclass(frozen=True)
class Config:
    database_url: str
    kafka: KafkaSettings
    append_n: int
    rounds: int
    replay_streams: int
    replay_per_stream: int
    outbox_rate: float
    outbox_seconds: float
    outbox_warmup_seconds: float
    profile: bool
    settle: float
    media_bytes: int
    api_connections: tuple[int, ...] = (16, 64)
    api_seconds: int = 10
    api_rounds: int = 3
    api_releases: int = 10_000
    scale_releases: int = 100_000
    scale_events_per_release: int = 10
    scale_rounds: int = 3
    scale_subscribers: int = 200
    scale_feed_rate: float = 20.0
    """Releases planned a second while the feed's subscribers listen."""
    scale_feed_seconds: float = 10.0

    @property
    def raw_url(self) -> str:
        """The URL for plain asyncpg (no SQLAlchemy dialect)."""
        return self.database_url.replace("+asyncpg", "", 1)


@dataclass
class Figure:
    """One reported number; `target` is None for context figures without a target."""

    section: str
    name: str
    value: float
    unit: str
    target: str | None = None
    passed: bool | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- fresh schemas ---------------------------------------------------------------------


@contextlib.asynccontextmanager
async def fresh_schema(cfg: Config, *, pool_size: int = 10) -> AsyncIterator[Database]:
    """A freshly migrated schema of its own (release-svc's migrations: the core tables),
    whose store signs what it appends."""
    schema = f"bench_{uuid4().hex[:12]}"
    try:
        await asyncio.to_thread(migrations.upgrade, cfg.database_url, schema, MIGRATIONS)
        # Signing each event as every service does: its cost is in every figure.
        signer = EventSigner.from_pem(generate_pem())
        db = Database(cfg.database_url, schema, source=SOURCE, pool_size=pool_size, signer=signer)
        try:
            yield db
        finally:
            await db.dispose()
    finally:
        conn = await asyncpg.connect(cfg.raw_url)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


@contextlib.asynccontextmanager
async def raw_connection(cfg: Config) -> AsyncIterator[Any]:
    conn = await asyncpg.connect(cfg.raw_url)
    try:
        yield conn
    finally:
        await conn.close()


# --- JSON and events ------------------------------------------------------------------


def json_text(value: object) -> str:
    return orjson.dumps(value).decode()


def metadata_of(stream_subject: str, when: datetime) -> dict[str, Any]:
    """What `PostgresEventStore` writes into `events.metadata`, of the same size: the
    baselines write as many bytes as the store (the chain's hashes here are random)."""
    return {
        "source": SOURCE,
        "time": when.isoformat(),
        "subject": stream_subject,
        "correlationid": META.correlation_id,
        "causationid": META.causation_id,
        "actor": META.actor,
        "actorroles": None,
        "traceparent": None,
        "streamid": f"release-{stream_subject}",
        "prevhash": secrets.token_hex(32),
        "hash": secrets.token_hex(32),
    }


def planned(release_id: UUID, i: int) -> ReleasePlanned:
    return ReleasePlanned(
        release_id=release_id,
        name=f"bench release {i}",
        version=f"1.{i}.0",
        planned_start=date(2030, 1, 1),
        planned_end=date(2030, 1, 31),
        release_manager="bench",
        identifier="REL-2030-0001",
    )


def rescheduled(release_id: UUID, i: int) -> ReleaseRescheduled:
    return ReleaseRescheduled(
        release_id=release_id,
        planned_start=date(2030, 2, 1),
        planned_end=date(2030, 2, 28),
        reason=f"bench reschedule {i}",
    )


# --- fresh topics --------------------------------------------------------------------


async def delete_topic(kafka: KafkaSettings, topic: str) -> None:
    admin = AIOKafkaAdminClient(**kafka.kafka_options())
    try:
        await uninterrupted(admin.start())
        await admin.delete_topics([topic])
    finally:
        await admin.close()
