"""`Idempotency-Key`: a client retrying a create after a lost reply gets the first reply."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from ferry.errors import IdempotencyKeyReused

if TYPE_CHECKING:
    from ferry.db import UnitOfWork


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

    def __init__(self, uow: UnitOfWork, schema: str) -> None:
        self._uow = uow
        table = f'"{schema}".idempotency_keys'
        self._recall_sql = (
            f"SELECT fingerprint, status_code, body, headers FROM {table} "
            "WHERE scope = $1 AND key = $2"
        )
        self._remember_sql = (
            f"INSERT INTO {table} (scope, key, fingerprint, status_code, body, headers) "
            "VALUES ($1, $2, $3, $4, $5, $6)"
        )

    async def hold(self, key: IdempotencyKey) -> None:
        """Make concurrent requests with this key wait for this transaction to end.

        Taken before anything else is decided, so a twin request sees either nothing or the
        committed reply, and never races the first one on the events it writes.
        """
        await self._uow.begin()
        await self._uow.fetchval(
            "SELECT pg_advisory_xact_lock(hashtext($1))", f"{key.scope}\n{key.key}"
        )

    async def recall(self, key: IdempotencyKey) -> Reply | None:
        """The first reply to this key, or None; a different request under it is refused."""
        row = await self._uow.fetchrow(self._recall_sql, key.scope, key.key)
        if row is None:
            return None
        if row["fingerprint"] != key.fingerprint:
            raise IdempotencyKeyReused(
                f"Idempotency-Key {key.key!r} was first used with a different request body"
            )
        return Reply(row["status_code"], row["body"], dict(row["headers"]))

    async def remember(self, key: IdempotencyKey, reply: Reply) -> None:
        """Store the reply to give again (call while holding the key)."""
        await self._uow.execute(
            self._remember_sql,
            key.scope,
            key.key,
            key.fingerprint,
            reply.status_code,
            reply.body,
            reply.headers,
        )


def json_reply(status_code: int, payload: object, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status_code, orjson.dumps(payload), headers or {})
