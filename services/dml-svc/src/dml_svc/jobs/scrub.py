"""The integrity scrub: re-hash every blob the library holds, and report any whose bytes no
longer match (`MediaCorruptionDetected` for each media item using it).

A scrub is asked for (through the API, or by the schedule every
`FERRY_DML_SCRUB_INTERVAL_SECONDS`) by a row in `scrubs`; each replica's scrub job claims
rows with `SKIP LOCKED`, so one replica runs each, and reports progress on the row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from dml_svc.adapters import scrubs
from dml_svc.adapters.blobs import BlobStore
from dml_svc.adapters.views import PostgresViews
from dml_svc.handlers import library
from ferry.db import Database, UnitOfWork
from ferry.envelope import Meta

log = logging.getLogger(__name__)
ACTOR = "service:dml-svc"
HEARTBEAT_SECONDS = 5.0
ABANDONED_UPLOAD = timedelta(hours=1)
"""How long an upload's temporary file may go unwritten before a scrub removes it."""
POLL_SECONDS = 1.0


async def ask(db: Database, requested_by: str) -> scrubs.Scrub:
    """Ask for a scrub; while one is asked for or running, that one."""
    async with db.unit_of_work() as uow:
        await uow.begin()
        # Two requests at once must not both find none pending.
        await uow.fetchval("SELECT pg_advisory_xact_lock(hashtext($1))", f"{uow.schema}-scrub")
        now = datetime.now(UTC)
        scrub = await scrubs.pending(uow, now) or await scrubs.request(uow, requested_by, now)
        await uow.commit()
    return scrub


class Scrubber:
    """The scrub job of one process: runs the scrubs asked for, and asks for one every
    `interval` seconds (0: only on demand)."""

    def __init__(self, blobs: BlobStore, interval: float) -> None:
        self._blobs = blobs
        self._interval = interval

    async def run(self, db: Database) -> None:
        while True:
            try:
                await self._schedule(db)
                while await self.run_one(db):
                    pass
            except Exception:
                log.exception("scrub: the pass failed; trying again")
            await asyncio.sleep(POLL_SECONDS)

    async def _schedule(self, db: Database) -> None:
        if not self._interval:
            return
        async with db.unit_of_work() as uow:
            last = await scrubs.last_requested(uow)
        if last is None or datetime.now(UTC) - last > timedelta(seconds=self._interval):
            await ask(db, "schedule")

    async def run_one(self, db: Database) -> bool:
        """Run one scrub asked for, if there is one no other replica took; whether it ran."""
        async with db.unit_of_work() as uow:
            await uow.begin()
            blobs = await _blobs_in_use(uow)
            scrub = await scrubs.claim(uow, len(blobs), datetime.now(UTC))
            await uow.commit()
        if scrub is None:
            return False
        if swept := await self._blobs.sweep(ABANDONED_UPLOAD):
            log.warning("scrub: removed %d uploads left unfinished by a crash", swept)
        corrupted: list[dict[str, Any]] = []
        beat, checked = time.monotonic(), 0
        for sha256, media in blobs.items():
            found = await self._blobs.verify(sha256)
            checked += 1
            if found != sha256:
                await _report(db, sha256, found, media)
                corrupted.extend(
                    {"name": n, "version": v, "sha256": sha256, "found": found} for n, v in media
                )
            if time.monotonic() - beat > HEARTBEAT_SECONDS:
                beat = time.monotonic()
                await _progress(db, scrub, checked, corrupted, finished=False)
        await _progress(db, scrub, checked, corrupted, finished=True)
        log.info("scrub %s: %d blobs, %d corrupted", scrub.scrub_id, checked, len(corrupted))
        return True


async def _report(db: Database, sha256: str, found: str, media: list[tuple[str, str]]) -> None:
    log.error("scrub: blob %s now hashes to %s", sha256, found)
    meta = Meta(actor=ACTOR, correlation_id=f"scrub-{sha256[:12]}")
    async with db.unit_of_work() as uow:
        views = PostgresViews(uow)
        for name, version in media:
            await library.record_corruption(uow, views, name, version, found, "scrub", meta)
        await uow.commit()


async def _progress(
    db: Database,
    scrub: scrubs.Scrub,
    checked: int,
    corrupted: list[dict[str, Any]],
    *,
    finished: bool,
) -> None:
    async with db.unit_of_work() as uow:
        now = datetime.now(UTC)
        await scrubs.progress(uow, scrub.scrub_id, checked, corrupted, now, finished=finished)
        await uow.commit()


async def _blobs_in_use(uow: UnitOfWork) -> dict[str, list[tuple[str, str]]]:
    """Every blob the media list refers to, with the name@versions using it."""
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in await uow.fetch(
        f'SELECT sha256, name, version FROM "{uow.schema}".media ORDER BY sha256, name, version'
    ):
        found[row["sha256"]].append((row["name"], row["version"]))
    return dict(found)
