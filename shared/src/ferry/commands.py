"""Running a command in one transaction, once per `Idempotency-Key`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Response

from ferry.db import Database, UnitOfWork
from ferry.idempotency import IdempotencyKey, Reply


async def run(
    db: Database,
    work: Callable[[UnitOfWork], Awaitable[Reply]],
    key: IdempotencyKey | None = None,
) -> Reply:
    """Run `work` in one transaction and commit; with `key`, at most once per key.

    A request repeating `key` gets the reply the first one got, without running `work`.

    `work` appends inside the unit of work and returns the reply without committing: the
    reply is stored with the events, so a retry after a lost response finds exactly it.
    """
    async with db.unit_of_work() as uow:
        if key is not None:
            await uow.idempotency.hold(key)
            if (prior := await uow.idempotency.recall(key)) is not None:
                return prior
        reply = await work(uow)
        if key is not None:
            await uow.idempotency.remember(key, reply)
        await uow.commit()
        return reply


async def respond(
    db: Database,
    work: Callable[[UnitOfWork], Awaitable[Reply]],
    key: IdempotencyKey | None = None,
) -> Response:
    """`run`, answered as the HTTP response its reply describes."""
    reply = await run(db, work, key)
    return Response(reply.body, reply.status_code, reply.headers, media_type="application/json")
