"""`Idempotency-Key`: a client retrying a create after a lost reply gets the first reply."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from ferry.errors import IdempotencyKeyReused
from ferry.tables import idempotency_keys


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key, the scope it is unique in (route and caller), and the request's hash."""

    scope: str
    key: str
    fingerprint: str

    @classmethod
    def of(cls, scope: str, key: str, body: bytes) -> IdempotencyKey:
        return cls(scope=scope, key=key, fingerprint=hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class Reply:
    """A stored HTTP reply: what the first request got."""

    status_code: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class IdempotencyKeys:
    """The replies already given, per key, in the caller's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def recall(self, key: IdempotencyKey) -> Reply | None:
        """The first reply to this key, or None; a different request under it is refused."""
        row = (
            await self._conn.execute(
                select(idempotency_keys).where(
                    idempotency_keys.c.scope == key.scope, idempotency_keys.c.key == key.key
                )
            )
        ).first()
        if row is None:
            return None
        if row.fingerprint != key.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key.key!r} was first used with a different request body"
            )
        return Reply(row.status_code, row.body, dict(row.headers))

    async def remember(self, key: IdempotencyKey, reply: Reply) -> bool:
        """Store the reply; False when a concurrent request with the same key got there first."""
        stored = await self._conn.execute(
            insert(idempotency_keys)
            .values(
                scope=key.scope,
                key=key.key,
                fingerprint=key.fingerprint,
                status_code=reply.status_code,
                body=reply.body,
                headers=reply.headers,
            )
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return stored.first() is not None


def json_reply(status_code: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status_code, orjson.dumps(payload), headers or {})
