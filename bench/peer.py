"""A peer's figure for the append benchmark: the `eventsourcing` library's PostgreSQL
application recorder (a mature Python event store) appending the same events, one per
transaction, as `bench.append` makes Ferry's store do.

Its recorder is synchronous (psycopg 3), so it runs in a thread of its own; it takes an
exclusive table lock per append to keep its notification order gapless, as Ferry's relay
needs no such order. Ferry's appends also seal each event (hash chain and Ed25519
signature), which the peer does not.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import orjson
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

if TYPE_CHECKING:
    from bench.append import Plan


def _datastore(raw_url: str, schema: str) -> PostgresDatastore:
    url = urlsplit(raw_url)
    return PostgresDatastore(
        dbname=url.path.lstrip("/"),
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=unquote(url.username or ""),
        password=unquote(url.password or ""),
        schema=schema,
    )


def stored(plan: Plan) -> list[StoredEvent]:
    """The plan's events as the peer stores them: the same JSON, one stream per aggregate."""
    return [
        StoredEvent(
            originator_id=uuid.uuid5(uuid.NAMESPACE_URL, stream),
            originator_version=version + 1,
            topic=event.type,
            state=orjson.dumps(event.data()),
        )
        for stream, version, event in plan
    ]


class Peer:
    """The peer's recorder on a schema of its own, dropped by `close`."""

    def __init__(self, raw_url: str) -> None:
        self.schema = f"bench_peer_{uuid.uuid4().hex[:12]}"
        self._datastore = _datastore(raw_url, self.schema)
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(f'CREATE SCHEMA "{self.schema}"')
        self._recorder = PostgresApplicationRecorder(self._datastore)
        self._recorder.create_table()

    def _append_each(self, events: list[StoredEvent]) -> float:
        start = time.perf_counter()
        for event in events:
            self._recorder.insert_events([event])
        return len(events) / (time.perf_counter() - start)

    async def time_appends(self, plan: Plan) -> float:
        """Events/s of single-event appends, each its own transaction."""
        return await asyncio.to_thread(self._append_each, stored(plan))

    def close(self) -> None:
        with self._datastore.transaction(commit=True) as curs:
            curs.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        self._datastore.close()
