"""The communications job: announces each communication plan entry as it falls due.

Every few seconds it finds the releases with entries due (`adapters.communications`) and,
one release at a time, each in a unit of work of its own, locks those entries, lets the
release decide (`domain.communications.announcements`), appends the `CommunicationDue`
events, brings the read models up to date and marks the entries announced, all in one
commit. One release's failure does not hold up the others; what was not announced stays
due and the next pass takes it up.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID, uuid4

import asyncpg

from ferry.aggregate import record
from ferry.db import Database
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError
from ferry.tracing import current_traceparent
from release_svc.adapters import communications
from release_svc.domain.communications import announcements
from release_svc.handlers import releases as handlers
from release_svc.projections import releases as projections

log = logging.getLogger(__name__)

ACTOR = "service:release-svc"
LOCK_TIMEOUT = "100ms"
"""How long an announcement waits for a lock before leaving the release to the next pass."""


async def run(db: Database, every: float, *, limit: int = 100) -> None:
    """Announce what fell due every `every` seconds, until cancelled."""
    while True:
        try:
            await announce_due(db, datetime.now(UTC), limit=limit)
        except Exception:
            # The database may be down: nothing is marked announced, so nothing is lost.
            log.exception("communications: the pass failed; retrying in %ss", every)
        await asyncio.sleep(every)


async def announce_due(db: Database, now: datetime, *, limit: int = 100) -> int:
    """One pass: announce the entries due by `now` of up to `limit` releases; how many."""
    async with db.unit_of_work() as uow:
        release_ids = await communications.due_releases(uow, now, limit)
    announced = 0
    for release_id in release_ids:
        try:
            announced += await _announce(db, release_id, now)
        except (ConcurrencyError, asyncpg.LockNotAvailableError) as exc:
            # Someone is changing the release: its entries stay due, and the next pass
            # announces them by the release as that change leaves it.
            log.info("communications: release %s is changing (%r); next pass", release_id, exc)
        except Exception:
            log.exception("communications: announcing for release %s failed", release_id)
    return announced


async def _announce(db: Database, release_id: UUID, now: datetime) -> int:
    async with db.unit_of_work() as uow:
        # These row locks are taken before the append, the other way round from a change of
        # the release, which appends and then updates the rows. Giving up on a lock quickly
        # (before PostgreSQL's deadlock check) makes this side the one that yields.
        await uow.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
        claimed = await communications.due(uow, release_id, now)
        if not claimed:
            return 0  # another replica holds them, or has just announced them
        release = await handlers.load_release(uow, release_id)
        new = announcements(release, claimed, now)
        if new:
            meta = Meta(ACTOR, correlation_id=uuid4().hex, traceparent=current_traceparent())
            await record(uow.events, handlers.stream_id(release_id), release, new, meta)
            await projections.save(uow, release)
            announced = [event.entry.entry_id for event in new]
            await communications.mark_announced(uow, release_id, announced, now)
        else:
            # The schedule was behind the release: catching it up settles what is due.
            await projections.save_communications(uow, release)
        await uow.commit()
        return len(new)
