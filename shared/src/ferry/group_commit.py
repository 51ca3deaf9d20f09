"""Group commit: the lone appends of concurrent units of work, written by one statement.

A unit of work whose only write is one event commits it as one statement (`ferry.db`).
When several such units of work commit at once, the first writes its event on its own
connection; those arriving meanwhile wait, and the first of them then writes all of theirs
in one statement, one commit and one flush of the log, on its own connection, while the next
arrivals wait in turn. Nobody waits for a batch to fill: under light load every append is
written at once, alone, as before; under heavy load batches grow with the load.

Each event is still checked against its own stream: its head (the event at the version it
expects, with the hash it chained after) and a race on (stream, version) fail that event's
unit of work alone (`ConcurrencyError`), not the others of its batch. Should the batch's
statement fail as a whole (a value PostgreSQL refuses, say), each of its appends is written
again alone, so that one unit of work's error is never another's.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from ferry import metrics

MOST = 200
"""Events written by one statement at most."""


@dataclass(frozen=True)
class Row:
    """One event as the `events` table takes it, and the head it must follow."""

    event_id: Any
    stream_id: str
    version: int
    type: str
    data: str
    metadata: str
    expected: int
    prevhash: str | None


class _Turn(enum.Enum):
    """What a waiting append is told: its event was written or lost, or it writes next."""

    WRITTEN = "written"
    LOST = "lost"
    LEAD = "lead"
    ALONE = "alone"


@dataclass
class _Waiting:
    row: Row
    turn: asyncio.Future[_Turn] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """The appends of one schema's units of work in one process, written in batches."""

    def __init__(self, schema: str, writers: int = 4) -> None:
        self._writers = writers
        events, outbox = f'"{schema}".events', f'"{schema}".outbox'
        # The head check per event, as a lone append's; a lost race skips the event alone.
        self._sql = f"""WITH n AS (
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[],
                    $5::text[], $6::text[], $7::int[], $8::text[]) WITH ORDINALITY
                    AS n(id, stream_id, version, type, data, metadata, expected, prevhash, i)),
            appended AS (
                INSERT INTO {events} (event_id, stream_id, stream_version, type, data, metadata)
                SELECT n.id, n.stream_id, n.version, n.type, n.data::jsonb, n.metadata::jsonb
                FROM n WHERE n.expected = 0 OR EXISTS (
                    SELECT 1 FROM {events} e WHERE e.stream_id = n.stream_id
                    AND e.stream_version = n.expected
                    AND e.metadata->>'hash' IS NOT DISTINCT FROM n.prevhash)
                ORDER BY n.i
                ON CONFLICT (stream_id, stream_version) DO NOTHING
                RETURNING position, event_id),
            queued AS (INSERT INTO {outbox} (position) SELECT position FROM appended)
            SELECT event_id FROM appended"""
        self._waiting: list[_Waiting] = []
        self._writing = 0
        """Statements under way."""

    async def write(
        self, row: Row, conn: asyncpg.Connection, alone: Callable[[], Awaitable[None]]
    ) -> bool | None:
        """Write `row` with whatever others wait meanwhile, on `conn` (the caller's own, used
        only while this call runs); by `alone` (its own statement, raising if the race is
        lost) when none waits. True: written; False: its head had moved or its version was
        taken (a lost race); None: the caller writes it alone now, as without group commit."""
        if self._writing >= self._writers:
            turn = await self._wait(_Waiting(row))
            if turn is not _Turn.LEAD:
                return None if turn is _Turn.ALONE else turn is _Turn.WRITTEN
        else:
            self._writing += 1
        batch = [_Waiting(row), *self._waiting[: MOST - 1]]
        del self._waiting[: MOST - 1]
        # Those in the batch wait on this statement; it must end (and say so) even if the
        # request that runs it is cancelled meanwhile: its connection is held until then.
        writing = asyncio.ensure_future(self._write(batch, conn, alone))
        try:
            await asyncio.shield(writing)
        except asyncio.CancelledError:
            await asyncio.wait([writing])
            raise
        finally:
            self._next()
        return writing.result()

    async def _wait(self, waiting: _Waiting) -> _Turn:
        """Wait for the batch that writes `waiting`, or for this caller's turn to write."""
        self._waiting.append(waiting)
        try:
            return await asyncio.shield(waiting.turn)
        except asyncio.CancelledError:
            if waiting in self._waiting:
                self._waiting.remove(waiting)  # gone before any batch took it
            elif waiting.turn.done() and waiting.turn.result() is _Turn.LEAD:
                self._next()  # the writing was handed to it: hand it on
            # Else a batch has it: written or not, as for a lone append cut off mid-commit.
            raise

    async def _write(
        self,
        batch: Sequence[_Waiting],
        conn: asyncpg.Connection,
        alone: Callable[[], Awaitable[None]],
    ) -> bool | None:
        """Write the batch; settle the others; the first's (this caller's) outcome."""
        if len(batch) == 1:
            await alone()  # nobody waited: the one event's own (leaner) statement
            return True
        rows = [w.row for w in batch]
        try:
            found = await conn.fetch(self._sql, *_columns(rows))
        except Exception:
            for other in batch[1:]:
                other.turn.set_result(_Turn.ALONE)
            return None
        metrics.APPEND_BATCH_EVENTS.observe(len(batch))
        written = {record[0] for record in found}
        for other in batch[1:]:
            other.turn.set_result(_Turn.WRITTEN if other.row.event_id in written else _Turn.LOST)
        return batch[0].row.event_id in written

    def _next(self) -> None:
        """Hand the writing to the first append waiting, or stop writing."""
        if self._waiting:
            self._waiting.pop(0).turn.set_result(_Turn.LEAD)
        else:
            self._writing -= 1


def _columns(rows: Sequence[Row]) -> list[list[Any]]:
    return [
        [r.event_id for r in rows],
        [r.stream_id for r in rows],
        [r.version for r in rows],
        [r.type for r in rows],
        [r.data for r in rows],
        [r.metadata for r in rows],
        [r.expected for r in rows],
        [r.prevhash for r in rows],
    ]
