"""The tables every service has in its own PostgreSQL schema.

Tables carry no schema name: each service's engine maps them into its schema
(`schema_translate_map`), so one definition serves all four services.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("position", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", Uuid, nullable=False, unique=True),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("type", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The optimistic-concurrency check: two writers at one version cannot both commit.
    UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
)

outbox = Table(
    "outbox",
    metadata,
    # A row here means "not yet on Kafka"; the relay deletes it once the broker acknowledged.
    Column("position", BigInteger, ForeignKey("events.position"), primary_key=True),
)

inbox = Table(
    "inbox",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("status_code", SmallInteger, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
