"""What deploy-svc learns from the other services' events, and from its own completed
deployments: the release facts deployment plans are judged against
(`adapters.release_facts`).

The inbox makes each event count once; beyond that every handler upserts, because events
of one release on two topics come in no set order (the DML's `ReleaseAvailable` may arrive
before release-svc's `ReleasePlanned`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from deploy_svc.adapters.views import PostgresViews
from deploy_svc.domain.facts import RiskLimits, Window
from deploy_svc.handlers import deployments as deployment_handlers
from deploy_svc.projections import deployments as deployment_list
from deploy_svc.projections import release_facts
from ferry import catalog, team_table
from ferry.auth import Role
from ferry.consuming import EventHandler, caused_by
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events import Event
from ferry.events.deploy import DeploymentCompleted, DeploymentRolledBack, Strategy
from ferry.events.dml import MediaRevoked, ReleaseAvailable, ReleaseRevoked
from ferry.events.els import ElsEscalated
from ferry.events.policy import FreezePeriodDeclared, FreezePeriodLifted
from ferry.events.release import (
    BackoutPlanSet,
    DeploymentWindowsSet,
    ReadinessConfirmed,
    ReleaseApproved,
    ReleaseCancelled,
    ReleaseDependenciesSet,
    ReleasePackageBuilt,
    ReleasePlanned,
    ReleaseScopeSet,
    ScopeItem,
    ScopeKind,
    TriggerKind,
)
from ferry.events.team import TeamDefined
from ferry.freezes import FreezePeriod
from ferry.grants import Acting, Grant
from ferry.manifest import ManifestRefused, SignedManifest, parse

ACTOR = "service:deploy-svc"
CONFIGURATION_ITEMS = frozenset({ScopeKind.APPLICATION, ScopeKind.COMPONENT})
"""Scope kinds that are configuration items a deployment changes."""


def split_scope(items: Iterable[ScopeItem]) -> tuple[set[str], set[str]]:
    """A scope's services and its configuration items (applications and components);
    documentation, training and process items are not deployed."""
    services, configuration_items = set(), set()
    for item in items:
        if item.kind is ScopeKind.SERVICE:
            services.add(item.name)
        elif item.kind in CONFIGURATION_ITEMS:
            configuration_items.add(item.name)
    return services, configuration_items


def manifest_media(manifest: str) -> set[tuple[str, str]]:
    """The (name, version) of each media item the manifest lists; none if it is not a
    manifest at all (the library refuses to fetch such a release anyway)."""
    try:
        parsed = parse(manifest)
    except ManifestRefused:
        return set()
    return {(item.name, item.version) for item in parsed.media}


# --- release.events ----------------------------------------------------------------------


async def on_release_planned(event: ReleasePlanned, envelope: Envelope, uow: UnitOfWork) -> None:
    await catalog.on_release_planned(event, envelope, uow)
    await release_facts.planned(uow, event.release_id, event.identifier, event.version, event.team)


async def on_release_cancelled(
    event: ReleaseCancelled, envelope: Envelope, uow: UnitOfWork
) -> None:
    await catalog.on_release_cancelled(event, envelope, uow)
    await release_facts.cancelled(uow, event.release_id)


async def on_release_scope_set(event: ReleaseScopeSet, _: Envelope, uow: UnitOfWork) -> None:
    services, configuration_items = split_scope(event.items)
    await release_facts.scope(uow, event.release_id, services, configuration_items)


async def on_deployment_windows_set(
    event: DeploymentWindowsSet, _: Envelope, uow: UnitOfWork
) -> None:
    windows = {w.environment: Window(w.start, w.end) for w in event.windows}
    await release_facts.windows(uow, event.release_id, windows, event.overridden_freezes)


async def on_release_dependencies_set(
    event: ReleaseDependenciesSet, _: Envelope, uow: UnitOfWork
) -> None:
    await release_facts.dependencies(uow, event.release_id, event.depends_on)


async def on_release_approved(event: ReleaseApproved, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.approved(
        uow,
        event.release_id,
        event.approvers,
        event.segregation,
        built_by=event.built_by,
        validated_by=event.validated_by,
        readiness=[str(item) for item in event.readiness],
        risk=RiskLimits(
            event.risk_level,
            event.risk_rule.least_strategy if event.risk_rule else Strategy.BIG_BANG,
            event.risk_rule.min_soak_seconds if event.risk_rule else 0,
        ),
    )


async def on_package_built(event: ReleasePackageBuilt, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.package_built(
        uow, event.release_id, event.revision, event.media, event.built_by
    )


async def on_backout_plan_set(event: BackoutPlanSet, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.backout_plan(uow, event.release_id, event.trigger_conditions, event.steps)


async def on_readiness_confirmed(event: ReadinessConfirmed, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.readiness_confirmed(uow, event.release_id, str(event.item))


async def on_freeze_declared(event: FreezePeriodDeclared, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.freeze_declared(uow, FreezePeriod.declared(event))


async def on_freeze_lifted(event: FreezePeriodLifted, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.freeze_lifted(uow, event.freeze_id)


# --- dml.events --------------------------------------------------------------------------


async def on_release_available(
    event: ReleaseAvailable, envelope: Envelope, uow: UnitOfWork
) -> None:
    await catalog.on_release_available(event, envelope, uow)
    # Kept as signed; its signature is checked when the media are fetched, against the key
    # the DML serves then.
    signed = SignedManifest(event.manifest, event.signature, event.key_id)
    await release_facts.available(uow, event.release_id, signed, manifest_media(event.manifest))


async def on_release_revoked(event: ReleaseRevoked, envelope: Envelope, uow: UnitOfWork) -> None:
    await catalog.on_release_revoked(event, envelope, uow)
    await release_facts.release_revoked(uow, event.release_id)


async def on_media_revoked(event: MediaRevoked, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.media_revoked(uow, event.name, event.version)


# --- deploy.events (deploy-svc's own) -----------------------------------------------------


async def on_deployment_completed(event: DeploymentCompleted, _: Envelope, uow: UnitOfWork) -> None:
    await release_facts.deployment_completed(
        uow, event.deployment_id, event.release_id, event.environment
    )


async def on_deployment_rolled_back(
    event: DeploymentRolledBack, _: Envelope, uow: UnitOfWork
) -> None:
    await release_facts.deployment_rolled_back(uow, event.deployment_id)


# --- els.events ----------------------------------------------------------------------------

SERVICE = Acting(frozenset({Grant(Role.DEPLOYER)}), frozenset({Role.DEPLOYER}))
"""deploy-svc acting for itself, on every environment."""


async def on_els_escalated(event: ElsEscalated, envelope: Envelope, uow: UnitOfWork) -> None:
    """Early Life Support escalated on a metric the release's backout plan names as a
    trigger: its last completed deployment there follows the plan (`RollbackStarted`)."""
    facts = await release_facts.facts(uow, event.release_id)
    if facts is None or not any(
        t.kind is TriggerKind.METRIC and t.metric == event.metric for t in facts.backout_triggers
    ):
        return
    found = await deployment_list.latest_completed(uow, event.release_id, event.environment)
    if found is None:
        return
    reason = (
        f"Early Life Support escalated: {event.metric} was {event.value:g}, over its limit of "
        f"{event.limit:g} (a trigger of the backout plan)"
    )
    meta = caused_by(envelope, ACTOR)
    await deployment_handlers.change(
        uow,
        PostgresViews(uow),
        found,
        None,
        meta,
        lambda d: d.roll_back(ACTOR, reason, facts.backout_steps),
        SERVICE,
    )


# For `main.spec`'s `consumes`, per topic.
RELEASE_EVENTS: Mapping[type[Event], EventHandler] = {
    ReleasePlanned: on_release_planned,
    ReleaseCancelled: on_release_cancelled,
    ReleaseScopeSet: on_release_scope_set,
    DeploymentWindowsSet: on_deployment_windows_set,
    ReleaseDependenciesSet: on_release_dependencies_set,
    ReleaseApproved: on_release_approved,
    ReleasePackageBuilt: on_package_built,
    BackoutPlanSet: on_backout_plan_set,
    ReadinessConfirmed: on_readiness_confirmed,
    FreezePeriodDeclared: on_freeze_declared,
    FreezePeriodLifted: on_freeze_lifted,
    TeamDefined: team_table.on_team_defined,
}
DML_EVENTS: Mapping[type[Event], EventHandler] = {
    ReleaseAvailable: on_release_available,
    ReleaseRevoked: on_release_revoked,
    MediaRevoked: on_media_revoked,
}
ELS_EVENTS: Mapping[type[Event], EventHandler] = {ElsEscalated: on_els_escalated}
DEPLOY_EVENTS: Mapping[type[Event], EventHandler] = {
    DeploymentCompleted: on_deployment_completed,
    DeploymentRolledBack: on_deployment_rolled_back,
}
