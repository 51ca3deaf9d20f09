"""Running a command in one transaction, once per `Idempotency-Key`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ferry.db import Database, UnitOfWork
from ferry.errors import Conflict
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
    # Two attempts: the second runs only when a concurrent twin committed first.
    for _ in range(2):
        async with db.unit_of_work() as uow:
            if key is not None and (prior := await uow.idempotency.recall(key)) is not None:
                return prior
            reply = await work(uow)
            if key is not None and not await uow.idempotency.remember(key, reply):
                continue  # the twin's reply wins; ours rolls back on leaving the block
            await uow.commit()
            return reply
    raise Conflict(f"Idempotency-Key {key.key if key else ''!r} is being used concurrently")
