"""Calendar feed tokens. Only a secret's sha256 is stored: the secret itself is shown once,
to the person who asked for it, inside the feed's URL."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from ferry.db import UnitOfWork
from ferry.errors import NotFound


@dataclass(frozen=True)
class FeedToken:
    token_id: UUID
    subject: str
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".feed_tokens'


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


COLUMNS = "token_id, subject, label, created_at, expires_at, revoked_at"


async def create(
    uow: UnitOfWork, subject: str, label: str, now: datetime, expires_at: datetime
) -> tuple[FeedToken, str]:
    """A new token for `subject`, and its secret."""
    secret = secrets.token_urlsafe(32)
    rows = await uow.fetch(
        f"INSERT INTO {_table(uow)} (token_id, secret_sha256, subject, label, created_at, "
        f"expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING {COLUMNS}",
        uuid4(),
        _digest(secret),
        subject,
        label,
        now,
        expires_at,
    )
    return FeedToken(**dict(rows[0])), secret


async def of(uow: UnitOfWork, subject: str) -> list[FeedToken]:
    rows = await uow.fetch(
        f"SELECT {COLUMNS} FROM {_table(uow)} WHERE subject = $1 ORDER BY created_at", subject
    )
    return [FeedToken(**dict(row)) for row in rows]


async def revoke(uow: UnitOfWork, subject: str, token_id: UUID, now: datetime) -> None:
    """Revoke one of `subject`'s tokens; another's is as unknown as a missing one."""
    done = await uow.fetchval(
        f"UPDATE {_table(uow)} SET revoked_at = coalesce(revoked_at, $3) "
        "WHERE token_id = $1 AND subject = $2 RETURNING token_id",
        token_id,
        subject,
        now,
    )
    if done is None:
        raise NotFound(f"you have no feed token {token_id}")


async def holder(uow: UnitOfWork, secret: str, now: datetime) -> str | None:
    """The subject a secret was given to, while it is neither revoked nor expired."""
    found: str | None = await uow.fetchval(
        f"SELECT subject FROM {_table(uow)} WHERE secret_sha256 = $1 "
        "AND revoked_at IS NULL AND expires_at > $2",
        _digest(secret),
        now,
    )
    return found
