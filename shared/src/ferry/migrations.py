"""Alembic, the Ferry way: one migration folder per service, each in its own schema.

A service's `migrations/env.py` calls `run_env()`; its first revision calls
`create_core_tables()`. `upgrade()` runs at start-up in development and as its own step
(`python -m <svc> migrate`) in production.

Upgrades without outage: the migration runs while the previous release still serves, and a
rollback runs the previous release against the new schema. So each revision says, with
`serves_code_from()`, the oldest code its schema still serves: an expand migration (a new
table, a nullable column) serves the code before it, a contract migration (a dropped column)
only code that no longer uses what it drops. The answer is kept in the schema itself, where
older code, which has not got the revision, reads it (`serves()`, for `/readyz`).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import sqlalchemy as sa
from alembic import command, context, op
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import create_async_engine

from ferry.db import driver_dsn


def _config(url: str, schema: str, migrations: Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    # Alembic runs on SQLAlchemy, which needs the driver named; asyncpg is the one installed.
    config.attributes["url"] = "postgresql+asyncpg://" + driver_dsn(url).removeprefix(
        "postgresql://"
    )
    config.attributes["schema"] = schema
    return config


_ONE_AT_A_TIME = threading.Lock()


def upgrade(url: str, schema: str, migrations: Path) -> None:
    """Bring the schema to the newest revision. Blocking: call it in a thread from async code.

    A schema already past this code's revisions (a rollback after the next release
    migrated) is left alone if it serves this code, else `SchemaAhead`."""
    found = asyncio.run(_ahead(url, schema, migrations))
    if found is not None:
        applied, serving = found
        if not serving:
            raise SchemaAhead(
                f"schema {schema} is at revision {applied}, which this code does not have "
                f"and which does not serve it (newest here: {head(migrations)})"
            )
        return
    # Alembic's `context` and `op` are process-wide: two upgrades in one process (replicas in
    # a test, several services in one interpreter) would run each other's steps.
    with _ONE_AT_A_TIME:
        command.upgrade(_config(url, schema, migrations), "head")


async def _ahead(url: str, schema: str, migrations: Path) -> tuple[str, bool] | None:
    """(the applied revision, whether it serves this code) when it is one this code does not
    ship; None when the schema is at or behind this code's revisions."""
    shipped = shipped_revisions(migrations)
    connection = await asyncpg.connect(driver_dsn(url))
    try:
        uow = _Probe(connection, schema)
        found = await applied(uow)
        if found is None or found in shipped:
            return None
        return found, await serves(uow, found, head(migrations), shipped)
    finally:
        await connection.close()


class _Probe:
    """The little of a unit of work `applied` and `serves` use, on a plain connection."""

    def __init__(self, connection: asyncpg.Connection, schema: str) -> None:
        self._connection, self._schema = connection, schema

    @property
    def schema(self) -> str:
        return self._schema

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._connection.fetchval(sql, *args)


def head(migrations: Path) -> str | None:
    """The newest revision shipped in a migrations folder."""
    return ScriptDirectory(str(migrations)).get_current_head()


def create_compatibility_table(schema: str) -> None:
    """Which code each revision's schema serves (`serves_code_from`), one row per revision."""
    op.execute(
        f"""CREATE TABLE "{schema}".schema_compatibility (
            revision text PRIMARY KEY,
            serves_code_from text NOT NULL
        )"""
    )


def serves_code_from(revision: str, oldest: str) -> None:
    """In `revision`'s upgrade(): its schema still serves code shipped at `oldest` and after
    (`oldest == revision`: only code that has this revision)."""
    op.execute(
        sa.text(
            f'INSERT INTO "{target_schema()}".schema_compatibility (revision, serves_code_from) '
            "VALUES (:revision, :oldest) ON CONFLICT (revision) "
            "DO UPDATE SET serves_code_from = EXCLUDED.serves_code_from"
        ).bindparams(revision=revision, oldest=oldest)
    )


def shipped_revisions(migrations: Path) -> frozenset[str]:
    """Every revision in a migrations folder: the code's own and those before it."""
    return frozenset(s.revision for s in ScriptDirectory(str(migrations)).walk_revisions())


class SchemaReader(Protocol):
    """What reading the migration state needs: a UnitOfWork, or a bare connection (`_Probe`)."""

    @property
    def schema(self) -> str: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...


async def serves(
    uow: SchemaReader, applied: str | None, head: str | None, shipped: frozenset[str]
) -> bool:
    """Whether the schema at `applied` serves code whose newest revision is `head` (and which
    ships the revisions `shipped`): it is the code's own revision, or a later one that serves
    code from a revision this code has, directly or through the revisions between (each
    expand migration names the one before it; a contract migration names itself)."""
    if applied == head:
        return True
    if applied is None or applied in shipped:
        return False  # behind the code: its migration has not run yet
    seen: set[str] = set()
    revision = applied
    while revision not in shipped and revision not in seen:
        seen.add(revision)
        try:
            oldest: str | None = await uow.fetchval(
                f'SELECT serves_code_from FROM "{uow.schema}".schema_compatibility '
                "WHERE revision = $1",
                revision,
            )
        except asyncpg.UndefinedTableError:
            return False
        if oldest is None or oldest == revision:
            return False  # undeclared, or a contract migration: only its own code
        revision = oldest
    return revision in shipped


class SchemaAhead(RuntimeError):
    """The schema is at a revision this code does not have, and does not serve it."""


async def applied(uow: SchemaReader) -> str | None:
    """The revision applied to the unit of work's schema, or None before the first."""
    try:
        revision: str | None = await uow.fetchval(
            f'SELECT version_num FROM "{uow.schema}".alembic_version'
        )
    except asyncpg.UndefinedTableError:
        return None
    return revision


def run_env() -> None:
    """The body of every service's `env.py`: online migrations over asyncpg."""
    url: str = context.config.attributes["url"]
    schema: str = context.config.attributes["schema"]

    def migrate(conn: Connection) -> None:
        # Replicas starting together: the first migrates, the others wait and find nothing to do.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"migrate-{schema}"})
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=conn, version_table_schema=schema, transaction_per_migration=False
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run() -> None:
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.run_sync(migrate)
        finally:
            await engine.dispose()

    asyncio.run(run())


def target_schema() -> str:
    """The schema a running migration applies to (revisions call this)."""
    schema: str = context.config.attributes["schema"]
    return schema


def create_core_tables(schema: str) -> None:
    """Events, outbox (with its NOTIFY trigger), inbox and idempotency keys."""
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("event_id", sa.Uuid, nullable=False, unique=True),
        sa.Column("stream_id", sa.Text, nullable=False),
        sa.Column("stream_version", sa.Integer, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("data", JSONB, nullable=False),
        sa.Column("metadata", JSONB, nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
        schema=schema,
    )
    op.create_table(
        "outbox",
        # No foreign key: the append statement writes both rows, and the check would cost
        # every append a lookup and a row lock.
        sa.Column("position", sa.BigInteger, primary_key=True),
        schema=schema,
    )
    # Statement-level: one wake-up per append, delivered when the transaction commits.
    op.execute(
        f"""CREATE FUNCTION "{schema}".notify_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('ferry_outbox_{schema}', ''); RETURN NULL; END $$"""
    )
    op.execute(
        f"""CREATE TRIGGER outbox_notify AFTER INSERT ON "{schema}".outbox
        FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".notify_outbox()"""
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("fingerprint", sa.Text, nullable=False),
        sa.Column("status_code", sa.SmallInteger, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )


def create_proposals_table(schema: str) -> None:
    """Governance proposals (`ferry.proposals`): newest first by `seq`, filtered by state."""
    op.execute(
        f"""CREATE TABLE "{schema}".proposals (
            proposal_id uuid PRIMARY KEY,
            seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            kind text NOT NULL,
            subject text NOT NULL,
            state text NOT NULL,
            proposed_by text NOT NULL,
            stream_version integer NOT NULL,
            body jsonb NOT NULL
        )"""
    )
    op.execute(f'CREATE INDEX proposals_state ON "{schema}".proposals (state, seq)')


def create_relay_attempt_table(schema: str) -> None:
    """The outbox relay's batch in flight (`ferry.outbox`): at most one row, written before a
    batch goes to Kafka and deleted with the batch's outbox rows. Found at start, it means a
    relay died between the two: the next reconciles with the topic before publishing."""
    op.execute(
        f"""CREATE TABLE "{schema}".relay_attempt (
            one boolean PRIMARY KEY DEFAULT true CHECK (one),
            up_to bigint NOT NULL,
            started_at timestamptz NOT NULL DEFAULT now()
        )"""
    )
