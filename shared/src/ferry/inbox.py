"""Idempotent consumers: the ids of handled events, recorded with the change they caused."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:
    from ferry.db import UnitOfWork


class Inbox:
    """Claims an event for a consumer inside the caller's transaction."""

    def __init__(self, uow: UnitOfWork, schema: str) -> None:
        self._uow = uow
        self._claim_sql = (
            f'INSERT INTO "{schema}".inbox (consumer, event_id) VALUES ($1, $2) '
            "ON CONFLICT DO NOTHING"
        )

    async def claim(self, event_id: UUID, consumer: str) -> bool:
        """True the first time; False for a redelivery, which must then change nothing.

        The claim commits or rolls back with the consumer's state change, so a crash in
        between leaves neither and the redelivered event is handled afresh.
        """
        status = await self._uow.execute(self._claim_sql, consumer, event_id)
        return bool(status == "INSERT 0 1")
