"""Idempotent consumers: the ids of handled events, recorded with the change they caused."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ferry.tables import inbox


class Inbox:
    """Claims an event for a consumer inside the caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, event_id: UUID, consumer: str) -> bool:
        """True the first time; False for a redelivery, which must then change nothing.

        The claim commits or rolls back with the consumer's state change, so a crash in
        between leaves neither and the redelivered event is handled afresh.
        """
        claimed = await self._conn.execute(
            insert(inbox)
            .values(consumer=consumer, event_id=event_id)
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        return claimed.first() is not None
