"""What calls for a notification, read by a consumer of its own (`ServiceSpec.projections`):
a communication plan entry falling due, a deployment that failed, is being rolled back, was
rolled back or paused because its window closed, a backout waiting for a manual step, an
escalation in Early Life Support. Each becomes one notification per recipient and channel
(`adapters.notifications`), delivered by the notifier (`jobs.notifications`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ferry.consuming import EventHandler
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.events.deploy import (
    BackoutStepAwaitingConfirmation,
    DeploymentFailed,
    DeploymentPausedOutsideWindow,
    DeploymentRolledBack,
    RollbackStarted,
)
from ferry.events.els import ElsEscalated
from ferry.events.release import CommunicationDue
from release_svc.adapters import audiences, notifications
from release_svc.adapters.release_streams import load_release
from release_svc.domain import notifications as notify
from release_svc.domain.release import Release


async def _enqueue(
    uow: UnitOfWork,
    envelope: Envelope,
    release: Release,
    deliveries: Sequence[notify.Delivery],
    message: notify.Message,
) -> None:
    if release.exists:
        await notifications.enqueue(uow, envelope.id, release.id, deliveries, message)


async def on_communication_due(
    event: CommunicationDue, envelope: Envelope, uow: UnitOfWork
) -> None:
    release = await load_release(uow, event.release_id)
    audience = await audiences.named(uow, notify.audience_name(event.entry.audience))
    deliveries = notify.to_audience(audience, event.entry.channel)
    await _enqueue(uow, envelope, release, deliveries, notify.communication(release, event.entry))


async def on_deployment_failed(
    event: DeploymentFailed, envelope: Envelope, uow: UnitOfWork
) -> None:
    release = await load_release(uow, event.release_id)
    message = notify.failure(release, f"the deployment to {event.environment} failed", event.reason)
    await _enqueue(uow, envelope, release, notify.to_people_in_charge(release), message)


async def on_rollback_started(event: RollbackStarted, envelope: Envelope, uow: UnitOfWork) -> None:
    """Told as the backout begins, with its reason: a failed verification is the failure."""
    release = await load_release(uow, event.release_id)
    asked = f" Asked for by {event.requested_by}." if event.requested_by else ""
    what = f"the deployment to {event.environment} is being rolled back"
    message = notify.failure(release, what, f"Reason: {event.reason}.{asked}")
    await _enqueue(uow, envelope, release, notify.to_people_in_charge(release), message)


async def on_rolled_back(event: DeploymentRolledBack, envelope: Envelope, uow: UnitOfWork) -> None:
    release = await load_release(uow, event.release_id)
    what = f"the deployment to {event.environment} was rolled back"
    message = notify.failure(release, what, "The previous version is live again.")
    await _enqueue(uow, envelope, release, notify.to_people_in_charge(release), message)


async def on_paused_outside_window(
    event: DeploymentPausedOutsideWindow, envelope: Envelope, uow: UnitOfWork
) -> None:
    release = await load_release(uow, event.release_id)
    what = f"the deployment to {event.environment} paused: its window closed"
    closed = f" at {event.window_end:%Y-%m-%d %H:%M %Z}" if event.window_end else ""
    detail = (
        f"Wave {event.wave + 1} did not start: the window closed{closed}. It goes on in the "
        "release's next window, or once a change authority overrides."
    )
    message = notify.failure(release, what, detail)
    await _enqueue(uow, envelope, release, notify.to_people_in_charge(release), message)


async def on_backout_step_waiting(
    event: BackoutStepAwaitingConfirmation, envelope: Envelope, uow: UnitOfWork
) -> None:
    release = await load_release(uow, event.release_id)
    what = f"the backout in {event.environment} waits for step {event.step + 1}"
    why = f" ({event.reason})" if event.reason else ""
    detail = f"To do by hand{why}: {event.description}. Confirm it in deploy-svc to go on."
    message = notify.failure(release, what, detail)
    await _enqueue(uow, envelope, release, notify.to_people_in_charge(release), message)


async def on_escalated(event: ElsEscalated, envelope: Envelope, uow: UnitOfWork) -> None:
    release = await load_release(uow, event.release_id)
    what = f"Early Life Support escalated in {event.environment}"
    detail = f"{event.metric} was {event.value:g}, over its limit of {event.limit:g}."
    deliveries = notify.escalation(release, event.contact)
    await _enqueue(uow, envelope, release, deliveries, notify.failure(release, what, detail))


CONSUMES: Mapping[str, Mapping[type[Event], EventHandler]] = {
    "release.events": {CommunicationDue: on_communication_due},
    "deploy.events": {
        DeploymentFailed: on_deployment_failed,
        RollbackStarted: on_rollback_started,
        DeploymentRolledBack: on_rolled_back,
        DeploymentPausedOutsideWindow: on_paused_outside_window,
        BackoutStepAwaitingConfirmation: on_backout_step_waiting,
    },
    "els.events": {ElsEscalated: on_escalated},
}
