"""Drift checks: every so often, each target Ferry deployed to is asked what runs there (its
driver's `live`); a target running something else than what Ferry made live there last, while
no deployment holds it, is reported once (`UnauthorisedChangeDetected`), and once back in
line (`UnauthorisedChangeCleared`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime

from deploy_svc.domain.deployment import ACTIVE
from deploy_svc.domain.drift import TargetWatch
from deploy_svc.drivers.base import Driver, DriverError
from deploy_svc.handlers.environments import load_environment
from deploy_svc.projections import targets
from deploy_svc.projections.targets import Watched
from ferry.aggregate import rebuild, record
from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.deploy import TargetEvent, UnauthorisedChangeDetected

log = logging.getLogger(__name__)
ACTOR = "service:deploy-svc"
BUSY = sorted(str(state) for state in ACTIVE)


def watch_stream(environment: str, target: str) -> str:
    return f"{TargetEvent.stream_prefix}-{environment}:{target}"


class DriftCheck:
    def __init__(self, drivers: Mapping[str, Driver], every_seconds: float) -> None:
        self._drivers = drivers
        self._every = every_seconds

    async def run(self, db: Database) -> None:
        """Look at every target, then again after `every_seconds`, until cancelled."""
        while True:
            try:
                await self.look(db)
            except Exception:
                log.exception("drift: the look failed; trying again")
            await asyncio.sleep(self._every)

    async def look(self, db: Database) -> int:
        """Ask each watched target what runs there; the number of changes reported."""
        async with db.unit_of_work() as uow:
            watched = await targets.watched(uow, BUSY)
        reported = 0
        for one in watched:
            found = await self._live(db, one)
            if found is not None:
                reported += await self._judge(db, one, found[0])
        return reported

    async def _live(self, db: Database, one: Watched) -> tuple[str | None] | None:
        """What runs on the target, as a 1-tuple; None if it cannot be told."""
        async with db.unit_of_work() as uow:
            environment = await load_environment(uow, one.environment)
        spec = environment.target(one.target)
        driver = self._drivers.get(spec.driver) if spec else None
        if spec is None or driver is None:
            return None  # no longer a target, or its driver no longer enabled
        try:
            return (await driver.live(spec.settings),)
        except DriverError as exc:
            log.info("drift: %s/%s: %s", one.environment, one.target, exc)
            return None

    async def _judge(self, db: Database, one: Watched, found: str | None) -> int:
        meta = Meta(actor=ACTOR, correlation_id=f"drift-{one.environment}-{one.target}")
        stream = watch_stream(one.environment, one.target)
        async with db.unit_of_work() as uow:
            # Looked at again inside the transaction: a deployment may have begun since.
            if [one] != await targets.watched(uow, BUSY, (one.environment, one.target)):
                return 0
            watch = TargetWatch(one.environment, one.target)
            watch = await rebuild(uow.events, stream, watch, TargetEvent)
            new = watch.looked(one.expected, found)
            await record(uow.events, stream, watch, new, meta)
            now = datetime.now(UTC)
            for event in new:
                if isinstance(event, UnauthorisedChangeDetected):
                    await targets.detected(uow, event, now)
                else:
                    await targets.cleared(uow, one.environment, one.target, now)
            await uow.commit()
        return sum(isinstance(e, UnauthorisedChangeDetected) for e in new)
