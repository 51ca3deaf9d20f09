"""The evaluator: judges every case with criteria as its periods close, each case in a unit
of work of its own (a case changed meanwhile is judged again at the next pass)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from els_svc.handlers import cases as handlers
from els_svc.projections import cases
from ferry.db import Database
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError

log = logging.getLogger(__name__)
META = Meta(actor="service:els-svc", correlation_id="els-evaluation")


async def evaluate_all(db: Database, now: datetime) -> None:
    """One pass: judge every case that can be, by the periods closed at `now`."""
    async with db.unit_of_work() as uow:
        pending = await cases.evaluable(uow)
    for case_id in pending:
        try:
            async with db.unit_of_work() as uow:
                await handlers.change(
                    uow, case_id, None, META, lambda case: case.evaluate(now), None
                )
                await uow.commit()
        except ConcurrencyError:
            log.info("els: case %s changed during evaluation; next pass", case_id)


async def run(db: Database, every: float) -> None:
    while True:
        try:
            await evaluate_all(db, datetime.now(UTC))
        except Exception:
            log.exception("els: the evaluation pass failed; trying again")
        await asyncio.sleep(every)
