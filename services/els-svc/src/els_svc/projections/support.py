"""What els-svc knows of each release's support, from release-svc's plan: whom to escalate
to, and when Early Life Support is planned to end."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from ferry.db import UnitOfWork


async def save(
    uow: UnitOfWork, release_id: UUID, escalation_contact: str | None, els_end: date | None
) -> None:
    """Record the release's plan; a None contact keeps the one known (a reschedule)."""
    await uow.execute(
        f'INSERT INTO "{uow.schema}".release_support (release_id, escalation_contact, els_end) '
        "VALUES ($1, coalesce($2, ''), $3) ON CONFLICT (release_id) DO UPDATE "
        "SET escalation_contact = coalesce($2, release_support.escalation_contact), els_end = $3",
        release_id,
        escalation_contact,
        els_end,
    )


async def of(uow: UnitOfWork, release_id: UUID) -> tuple[str, date | None]:
    row = await uow.fetchrow(
        f'SELECT escalation_contact, els_end FROM "{uow.schema}".release_support '
        "WHERE release_id = $1",
        release_id,
    )
    return ("", None) if row is None else (row["escalation_contact"], row["els_end"])
