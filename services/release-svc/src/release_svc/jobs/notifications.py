"""The notifier: delivers the notifications due, each over its channel, and records the
outcome as an event (`NotificationSent`, or `NotificationFailed` after the last attempt).

A pass claims due notifications under a lease and commits, then delivers each and records
its outcome in a unit of work of its own. A notifier killed mid-delivery leaves its claims
to run out; the next pass tries them again, under the same message id (email's
`Message-ID`, the webhook's `Idempotency-Key`), so a receiver that got it already can drop
the repeat. Several replicas never claim the same notification at once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

from ferry.db import Database
from ferry.envelope import Meta
from ferry.events.notify import NotificationFailed, NotificationSent
from release_svc.adapters import improvement_actions, notifications, schedule
from release_svc.adapters.channels import Channels, DeliveryFailed
from release_svc.adapters.notifications import Due
from release_svc.domain.notifications import (
    cause_of,
    overdue_action,
    overdue_cause,
    retry_after,
    to_people_in_charge,
    to_person,
    window_closing,
)
from release_svc.handlers.releases import load_release

log = logging.getLogger(__name__)

ACTOR = "service:release-svc"


async def run(
    db: Database,
    channels: Channels,
    every: float,
    look_every: float,
    window_warning: timedelta,
    *,
    limit: int = 20,
) -> None:
    """Deliver what is due every `every` seconds; every `look_every`, warn of windows
    closing within `window_warning` and remind owners of overdue improvement actions; until
    cancelled."""
    looked_at = float("-inf")
    while True:
        try:
            clock = asyncio.get_running_loop().time()
            if clock - looked_at >= look_every:
                now = datetime.now(UTC)
                await warn_closing(db, now, window_warning)
                await remind_overdue(db, now.date())
                looked_at = clock
            while await deliver_due(db, channels, datetime.now(UTC), limit=limit) == limit:
                pass  # a full batch: there may be more due at once
        except Exception:
            log.exception("notifications: the pass failed; retrying in %ss", every)
        await asyncio.sleep(every)


async def warn_closing(db: Database, now: datetime, within: timedelta) -> int:
    """Tell the people in charge of each release whose window closes within `within` and
    is not deployed there yet, once per window; how many windows."""
    async with db.unit_of_work() as uow:
        rows = await schedule.closing(uow, now, within)
        for row in rows:
            release = await load_release(uow, row["release_id"])
            await notifications.enqueue(
                uow,
                cause_of(release.id, row["environment"], row["ends_at"].isoformat()),
                release.id,
                to_people_in_charge(release),
                window_closing(release, row["environment"], row["ends_at"]),
            )
        await uow.commit()
    return len(rows)


async def remind_overdue(db: Database, today: date, *, limit: int = 500) -> int:
    """Tell each overdue improvement action's owner, once per due date; how many."""
    async with db.unit_of_work() as uow:
        rows = await improvement_actions.overdue_not_notified(uow, today, limit)
        for row in rows:
            await notifications.enqueue(
                uow,
                overdue_cause(row["action_id"], row["due"]),
                row["release_id"],
                [to_person(row["owner"])],
                overdue_action(row["identifier"], row["description"], row["due"]),
            )
        await uow.commit()
    return len(rows)


async def deliver_due(db: Database, channels: Channels, now: datetime, *, limit: int = 20) -> int:
    """One pass: claim up to `limit` due notifications, deliver each; how many were tried."""
    async with db.unit_of_work() as uow:
        claimed = await notifications.claim(uow, now, channels.lease, limit)
        await uow.commit()
    for due in claimed:
        await _deliver(db, channels, due)
    return len(claimed)


async def _deliver(db: Database, channels: Channels, due: Due) -> None:
    try:
        await channels.send(due)
        reason = None
    except DeliveryFailed as exc:
        reason = str(exc)
    except Exception as exc:  # a bug in a channel must not stop the others
        log.exception("notifications: delivering %s failed", due.notification_id)
        reason = f"internal error: {type(exc).__name__}"
    now = datetime.now(UTC)
    fields = {
        "notification_id": due.notification_id,
        "release_id": due.release_id,
        "cause": due.cause,
        "channel": due.channel,
        "recipient": due.recipient,
        "subject": due.subject,
        "attempts": due.attempts + 1,
    }
    async with db.unit_of_work() as uow:
        stream = f"notification-{due.notification_id}"
        meta = Meta(ACTOR, correlation_id=uuid4().hex, causation_id=str(due.cause))
        if reason is None:
            await notifications.sent(uow, due.notification_id, now)
            await uow.events.append(stream, 0, [NotificationSent(**fields)], meta)
        elif (wait := retry_after(due.attempts + 1, channels.backoff)) is not None:
            log.info(
                "notifications: %s failed (%s); retrying in %s", due.notification_id, reason, wait
            )
            await notifications.retry(uow, due.notification_id, now + wait, reason)
        else:
            await notifications.failed(uow, due.notification_id, reason)
            await uow.events.append(stream, 0, [NotificationFailed(**fields, reason=reason)], meta)
        await uow.commit()
