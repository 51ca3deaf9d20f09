"""Notifications in PostgreSQL: one row per recipient and channel of what called for it,
so a cause read again adds nothing; the notifier claims due rows under a lease, and the
inbox reads a person's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import asyncpg

from ferry.db import UnitOfWork
from ferry.errors import Conflict, NotFound
from ferry.events.notify import Channel
from release_svc.adapters.queries import Order, Where, instant, page
from release_svc.domain.notifications import Delivery, Message


def _t(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".notifications'


@dataclass(frozen=True)
class Due:
    """A notification claimed for an attempt."""

    notification_id: UUID
    cause: UUID
    release_id: UUID | None
    channel: Channel
    recipient: str
    subject: str
    body: str
    attempts: int
    """Attempts made before this one."""


async def enqueue(
    uow: UnitOfWork,
    cause: UUID,
    release_id: UUID | None,
    deliveries: Sequence[Delivery],
    message: Message,
) -> None:
    """One notification per delivery; those `cause` already made are left as they are."""
    if not deliveries:
        return
    await uow.execute(
        f"INSERT INTO {_t(uow)} "
        "(notification_id, cause, release_id, channel, recipient, subject, body, acknowledge) "
        "SELECT n.id, $2, $3, n.channel, n.recipient, $6, $7, $8 "
        "FROM unnest($1::uuid[], $4::text[], $5::text[]) AS n(id, channel, recipient) "
        "ON CONFLICT (cause, channel, recipient) DO NOTHING",
        [uuid4() for _ in deliveries],
        cause,
        release_id,
        [str(d.channel) for d in deliveries],
        [d.recipient for d in deliveries],
        message.subject,
        message.text,
        message.acknowledge,
    )


async def claim(uow: UnitOfWork, now: datetime, lease: timedelta, limit: int) -> list[Due]:
    """Up to `limit` notifications due at `now` that no one holds, held for `lease`: a
    notifier that dies mid-delivery leaves them to be tried again once it runs out."""
    rows = await uow.fetch(
        f"UPDATE {_t(uow)} SET lease_until = $1::timestamptz + $2::interval "
        f"WHERE notification_id IN (SELECT notification_id FROM {_t(uow)} "
        "  WHERE state = 'pending' AND next_attempt_at <= $1 "
        "  AND (lease_until IS NULL OR lease_until <= $1) "
        "  ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) "
        "RETURNING notification_id, cause, release_id, channel, recipient, subject, body, "
        "attempts",
        now,
        lease,
        limit,
    )
    return [Due(**{**dict(row), "channel": Channel(row["channel"])}) for row in rows]


async def sent(uow: UnitOfWork, notification_id: UUID, at: datetime) -> None:
    await uow.execute(
        f"UPDATE {_t(uow)} SET state = 'sent', attempts = attempts + 1, sent_at = $2, "
        "lease_until = NULL, last_error = '' WHERE notification_id = $1",
        notification_id,
        at,
    )


async def retry(uow: UnitOfWork, notification_id: UUID, at: datetime, error: str) -> None:
    await uow.execute(
        f"UPDATE {_t(uow)} SET attempts = attempts + 1, next_attempt_at = $2, "
        "lease_until = NULL, last_error = $3 WHERE notification_id = $1",
        notification_id,
        at,
        error,
    )


async def failed(uow: UnitOfWork, notification_id: UUID, error: str) -> None:
    await uow.execute(
        f"UPDATE {_t(uow)} SET state = 'failed', attempts = attempts + 1, lease_until = NULL, "
        "last_error = $2 WHERE notification_id = $1",
        notification_id,
        error,
    )


INBOX_ORDER = Order(("created_at", "notification_id"), (instant, UUID), descending=True)


INBOX = (
    "notification_id, release_id, cause, subject, body, created_at, sent_at, read_at, "
    "acknowledge, acknowledged_at"
)


async def inbox(
    uow: UnitOfWork,
    subject: str,
    unread: bool,
    unacknowledged: bool,
    limit: int,
    cursor: str | None,
) -> tuple[list[asyncpg.Record], str | None]:
    """`subject`'s inbox, newest first: what was delivered to it (pending ones are not yet)."""
    where = Where()
    where.add(f"recipient = {where.arg(subject)}")
    where.add("channel = 'inbox' AND state = 'sent'")
    if unread:
        where.add("read_at IS NULL")
    if unacknowledged:
        where.add("acknowledge AND acknowledged_at IS NULL")
    return await page(uow, f"SELECT {INBOX} FROM {_t(uow)}", where, INBOX_ORDER, limit, cursor)


async def mark_read(
    uow: UnitOfWork, subject: str, notification_id: UUID, at: datetime
) -> asyncpg.Record:
    """Mark one of `subject`'s notifications read (the first time only); 404 for another's."""
    row = await uow.fetchrow(
        f"UPDATE {_t(uow)} SET read_at = COALESCE(read_at, $3) "
        "WHERE notification_id = $1 AND recipient = $2 AND channel = 'inbox' AND state = 'sent' "
        f"RETURNING {INBOX}",
        notification_id,
        subject,
        at,
    )
    if row is None:
        raise NotFound(f"no notification {notification_id} in your inbox")
    return row


async def acknowledge(
    uow: UnitOfWork, subject: str, notification_id: UUID, at: datetime
) -> tuple[asyncpg.Record, bool]:
    """Acknowledge one of `subject`'s notifications that asks for it (read, too); whether
    this was the first time. 404 for another's, 409 for one that asks for none."""
    row = await uow.fetchrow(
        f"SELECT {INBOX}, acknowledged_at IS NULL AS first FROM {_t(uow)} "
        "WHERE notification_id = $1 AND recipient = $2 AND channel = 'inbox' AND state = 'sent' "
        "FOR UPDATE",
        notification_id,
        subject,
    )
    if row is None:
        raise NotFound(f"no notification {notification_id} in your inbox")
    if not row["acknowledge"]:
        raise Conflict("this notification asks for no acknowledgement")
    updated = await uow.fetchrow(
        f"UPDATE {_t(uow)} SET acknowledged_at = COALESCE(acknowledged_at, $2), "
        f"read_at = COALESCE(read_at, $2) WHERE notification_id = $1 RETURNING {INBOX}",
        notification_id,
        at,
    )
    assert updated is not None
    return updated, bool(row["first"])


async def of_release(
    uow: UnitOfWork, release_id: UUID, limit: int, cursor: str | None
) -> tuple[list[asyncpg.Record], str | None]:
    """Every notification about the release, over every channel, newest first."""
    where = Where()
    where.add(f"release_id = {where.arg(release_id)}")
    select = f"SELECT {INBOX}, channel, recipient, state, attempts, last_error FROM {_t(uow)}"
    return await page(uow, select, where, INBOX_ORDER, limit, cursor)
