"""What release-svc does with other services' events: the release's life after approval
(from the DML, deploy-svc and els-svc), the media packages are checked against, and
approvals from an external change tool. (The delivery metrics' deployments are kept by a
consumer of their own: `release_svc.projections.delivery`.)"""

from __future__ import annotations

import logging
from uuid import UUID

from ferry.consuming import caused_by
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.errors import FerryError, NotFound
from ferry.events.change import ChangeApproved, ChangeDecision, ChangeRejected
from ferry.events.deploy import (
    DeploymentCompleted,
    DeploymentEvent,
    DeploymentRolledBack,
    DeploymentStarted,
)
from ferry.events.dml import MediaRevoked, MediaStaged, ReleaseAvailable
from ferry.events.els import ElsExited, ElsStarted
from ferry.events.release import ApprovalSource, Milestone, Outcome, ReleaseEvent
from release_svc.adapters import delivery, known_media, release_list
from release_svc.adapters.views import PostgresViews
from release_svc.domain.commands import Approve, RecordValidation, Reject
from release_svc.domain.release import Release
from release_svc.handlers import releases as handlers
from release_svc.projections import releases as projections

ACTOR = "service:release-svc"
log = logging.getLogger(__name__)


async def on_media_staged(event: MediaStaged, _: Envelope, uow: UnitOfWork) -> None:
    await known_media.staged(uow, event)


async def on_media_revoked(event: MediaRevoked, _: Envelope, uow: UnitOfWork) -> None:
    await known_media.revoked(uow, event)


async def _react(
    uow: UnitOfWork, release_id: UUID, envelope: Envelope, decision: handlers.Decision
) -> None:
    meta = caused_by(envelope, ACTOR)
    release = await handlers.react(uow, release_id, meta, decision)
    await projections.save(uow, release)


async def on_release_available(
    event: ReleaseAvailable, envelope: Envelope, uow: UnitOfWork
) -> None:
    await _react(uow, event.release_id, envelope, lambda r: r.made_available())


async def _counts(uow: UnitOfWork, environment: str) -> bool:
    """Whether what happens in `environment` moves a release's lifecycle and times its
    communications: production's, or any while deploy-svc has announced no production
    environment."""
    production = await delivery.production_environments(uow)
    return not production or environment in production


async def _deployment_counts(uow: UnitOfWork, event: DeploymentEvent) -> bool:
    """`_counts` for a deployment, whose event names its environment's class (one recorded
    before classes does not: its environment then tells)."""
    if event.environment_class is not None:
        return event.in_production
    return await _counts(uow, event.environment)


async def _reached(
    uow: UnitOfWork, event: DeploymentStarted | DeploymentRolledBack, envelope: Envelope
) -> None:
    """A deployment's start or roll-back, as a milestone of its release, when it counts."""
    milestone = (
        Milestone.DEPLOYMENT_STARTED
        if isinstance(event, DeploymentStarted)
        else Milestone.DEPLOYMENT_ROLLED_BACK
    )
    if await _deployment_counts(uow, event):
        await _react(
            uow,
            event.release_id,
            envelope,
            lambda r: r.milestone_reached(milestone, event.environment, envelope.time),
        )


async def _validated(
    uow: UnitOfWork, event: DeploymentCompleted | DeploymentRolledBack, envelope: Envelope
) -> None:
    """A test deployment's verification, as the validation of the package it took that its
    plan named: passed if it completed, failed if it was rolled back. Recorded for the
    tester who planned it, under the policy's segregation rules; nothing if the release has
    moved on (a new package, approved, cancelled) or the rules refuse."""
    evidence = event.validates
    if evidence is None:
        return
    outcome = Outcome.PASSED if isinstance(event, DeploymentCompleted) else Outcome.FAILED
    release = await handlers.get_release(uow, event.release_id)
    policy = await handlers.policy_of(uow, release)
    cmd = RecordValidation(
        release_id=event.release_id,
        kind=evidence.kind,
        outcome=outcome,
        evidence=f"deployment {event.deployment_id} to {event.environment}",
        by=evidence.tester,
    )

    def decide(release: Release) -> list[ReleaseEvent]:
        current = release.package.revision if release.package else None
        if current != evidence.package_revision:
            log.info(
                "%s: the deployment validated package %s, not %s",
                release.identifier,
                evidence.package_revision,
                current,
            )
            return []
        try:
            return release.record_validation(cmd, policy)
        except FerryError as exc:
            log.info("%s: validation by deployment not recorded: %s", release.identifier, exc)
            return []

    await _react(uow, event.release_id, envelope, decide)


async def on_deployment_started(
    event: DeploymentStarted, envelope: Envelope, uow: UnitOfWork
) -> None:
    await _reached(uow, event, envelope)


async def on_deployment_completed(
    event: DeploymentCompleted, envelope: Envelope, uow: UnitOfWork
) -> None:
    await _validated(uow, event, envelope)
    if not await _deployment_counts(uow, event):
        return  # development, test, staging: the release's lifecycle does not move
    at = event.completed_at or envelope.time

    def decide(release: Release) -> list[ReleaseEvent]:
        deployed = release.deployed(event.environment, event.deployment_id)
        completed = Milestone.DEPLOYMENT_COMPLETED
        return [*deployed, *release.milestone_reached(completed, event.environment, at)]

    await _react(uow, event.release_id, envelope, decide)


async def on_deployment_rolled_back(
    event: DeploymentRolledBack, envelope: Envelope, uow: UnitOfWork
) -> None:
    await _validated(uow, event, envelope)
    await _reached(uow, event, envelope)


async def on_els_started(event: ElsStarted, envelope: Envelope, uow: UnitOfWork) -> None:
    if not await _counts(uow, event.environment):
        return  # support of a non-production environment's deployment (els-svc's choice)
    await _react(
        uow, event.release_id, envelope, lambda r: r.early_life_support_started(event.environment)
    )


async def on_els_exited(event: ElsExited, envelope: Envelope, uow: UnitOfWork) -> None:
    release = await handlers.get_release(uow, event.release_id)
    policy = await handlers.policy_of(uow, release)
    if not await _counts(uow, event.environment):
        return
    at = event.exited_at or envelope.time

    def decide(release: Release) -> list[ReleaseEvent]:
        ended = release.early_life_support_ended(event.environment, policy)
        exited = Milestone.ELS_EXITED
        return [*release.milestone_reached(exited, event.environment, at), *ended]

    await _react(uow, event.release_id, envelope, decide)


async def _release_id(uow: UnitOfWork, decision: ChangeDecision) -> UUID:
    if decision.release.upper().startswith("REL-"):
        found = await release_list.release_id_of(uow, decision.release.upper())
        if found is None:
            raise NotFound(f"no release {decision.release}")
        return found
    try:
        return UUID(decision.release)
    except ValueError as exc:
        raise NotFound(f"no release {decision.release!r}") from exc


async def on_change_approved(event: ChangeApproved, envelope: Envelope, uow: UnitOfWork) -> None:
    """The change tool's approval counts as one approver's, under the same rules."""
    cmd = Approve(
        release_id=await _release_id(uow, event),
        rfc=event.rfc,
        by=event.decided_by,
        comment=event.comment,
        source=ApprovalSource.CHANGE_TOOL,
    )
    meta = caused_by(envelope, event.decided_by)
    release = await handlers.approve(cmd, None, uow, PostgresViews(uow), meta)
    await projections.save(uow, release)


async def on_change_rejected(event: ChangeRejected, envelope: Envelope, uow: UnitOfWork) -> None:
    cmd = Reject(
        release_id=await _release_id(uow, event),
        rfc=event.rfc,
        reason=event.reason,
        by=event.decided_by,
        source=ApprovalSource.CHANGE_TOOL,
    )
    meta = caused_by(envelope, event.decided_by)
    release = await handlers.react(uow, cmd.release_id, meta, lambda r: r.reject(cmd))
    await projections.save(uow, release)
