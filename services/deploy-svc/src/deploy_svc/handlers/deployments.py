"""Command handlers of deploy-svc's deployments: load the aggregate, gather what its decision
needs, let it decide, append what it decided. The caller commits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from uuid import UUID

from deploy_svc.domain.deployment import Deployment, DeploymentPlan, PlanDeployment
from deploy_svc.domain.facts import ReleaseFacts
from deploy_svc.domain.plans import Plan, judge
from deploy_svc.domain.waves import waves
from deploy_svc.handlers.environments import load_environment
from deploy_svc.handlers.views import DeploymentViews
from ferry.aggregate import at_version, existing, record
from ferry.auth import Role
from ferry.envelope import Meta
from ferry.errors import Forbidden, InvalidField
from ferry.events.deploy import (
    DeploymentEvent,
    EnvironmentClass,
    ValidationEvidence,
    Wave,
)
from ferry.events.release import BackoutStep
from ferry.eventstore import WithEvents
from ferry.grants import Acting

Decision = Callable[[Deployment], Sequence[DeploymentEvent]]
DEPLOYERS = (Role.DEPLOYER, Role.RELEASE_MANAGER)
"""Who deploys anywhere (testers too where the class allows, development and test)."""


def deployment_stream(deployment_id: UUID) -> str:
    return f"{DeploymentEvent.stream_prefix}-{deployment_id}"


async def get_deployment(uow: WithEvents, deployment_id: UUID) -> Deployment:
    stream, missing = deployment_stream(deployment_id), f"no deployment {deployment_id}"
    return await existing(uow.events, stream, Deployment(deployment_id), DeploymentEvent, missing)


async def plan_deployment(
    uow: WithEvents, views: DeploymentViews, cmd: PlanDeployment, meta: Meta, acting: Acting
) -> Deployment:
    """Accept a deployment plan (`DeploymentScheduled`) if every rule holds, planned by
    someone `acting` for the team owning the environment (a tester only in a development
    or test environment)."""
    environment = await load_environment(uow, cmd.environment)
    kind = environment.environment_class
    if not kind.takes_staged_media:
        acting = acting.narrowed(*DEPLOYERS)
        if not acting.everywhere and not acting.teams:
            raise Forbidden(
                f"testers deploy to development and test environments; {cmd.environment} "
                f"is a {kind} environment"
            )
    acting.on(await views.environment_owners(cmd.environment), f"environment {cmd.environment}")
    if cmd.validation is not None and kind is not EnvironmentClass.TEST:
        raise InvalidField("validation", f"only a test environment validates; {kind} does not")
    await views.hold_environment(cmd.environment)
    facts = await views.release_facts(cmd.release_id)
    targets = list(cmd.targets) or [t.name for t in environment.targets]
    depends_on = facts.depends_on if facts else frozenset()
    judge(
        Plan(
            cmd.release_id,
            cmd.environment,
            targets,
            cmd.start,
            cmd.by,
            cmd.strategy,
            cmd.soak_seconds,
        ),
        facts,
        environment,
        await views.freezes_in_force(),
        await views.deployed_to(depends_on, cmd.environment),
        await views.busy_targets(cmd.environment),
        await views.identifiers(depends_on),
    )
    assert facts is not None  # judged
    if kind.takes_staged_media:
        # deploy-svc takes the staged media as itself: the library's team scope is kept here.
        await _check_release_team(views, acting, facts, "deploying the staged media of")
    if cmd.validation is not None:
        tester = acting.narrowed(Role.TESTER)
        await _check_release_team(views, tester, facts, "validating")
    package = facts.package if kind.takes_staged_media else None
    validates = (
        ValidationEvidence(kind=cmd.validation, package_revision=package.revision, tester=cmd.by)
        if package is not None and cmd.validation is not None
        else None
    )
    split = waves(
        cmd.strategy, targets, sizes=cmd.sizes, percentages=cmd.percentages, canary=cmd.canary
    )
    deployment = Deployment(cmd.deployment_id)
    new = deployment.schedule(
        DeploymentPlan(
            deployment_id=cmd.deployment_id,
            release_id=cmd.release_id,
            environment=cmd.environment,
            release_version=facts.version,
            strategy=cmd.strategy,
            waves=[Wave(targets=w, soak_seconds=cmd.soak_seconds) for w in split],
            scheduled_start=cmd.start,
            requested_by=cmd.by,
            services=sorted(facts.services),
            configuration_items=sorted(facts.configuration_items),
            environment_class=kind,
            package_revision=package.revision if package else None,
            validates=validates,
        )
    )
    await record(uow.events, deployment_stream(deployment.id), deployment, new, meta)
    await views.save(deployment)
    return deployment


async def _check_release_team(
    views: DeploymentViews, acting: Acting, facts: ReleaseFacts, doing: str
) -> None:
    """Refuse unless `acting` holds its role everywhere or for a team the release touches
    (the one it is planned for, those owning its services): the library lets a team's
    testers take only their services' staged media, and release-svc lets them record
    validations only of their teams' releases."""
    if acting.everywhere:
        return
    touched = await views.service_owners(facts.services) | ({facts.team} if facts.team else set())
    acting.on(touched, f"{doing} release {facts.identifier}")


async def change(
    uow: WithEvents,
    views: DeploymentViews,
    deployment_id: UUID,
    expected_version: int | None,
    meta: Meta,
    decide: Decision,
    acting: Acting,
) -> Deployment:
    """Let the deployment (at `expected_version`, if given) decide, if `acting` may act for
    the team owning its environment; append; update the list."""
    stream, missing = deployment_stream(deployment_id), f"no deployment {deployment_id}"
    blank = Deployment(deployment_id)
    if expected_version is None:
        deployment = await existing(uow.events, stream, blank, DeploymentEvent, missing)
    else:
        deployment = await at_version(
            uow.events, stream, blank, DeploymentEvent, missing, expected_version
        )
    environment = deployment.environment
    acting.on(await views.environment_owners(environment), f"environment {environment}")
    await record(uow.events, stream, deployment, decide(deployment), meta)
    await views.save(deployment)
    return deployment


async def roll_back(
    uow: WithEvents,
    views: DeploymentViews,
    deployment_id: UUID,
    expected_version: int | None,
    meta: Meta,
    acting: Acting,
    by: str,
    reason: str,
) -> Deployment:
    """Start following the release's backout plan as it is now (`RollbackStarted`)."""

    async def backout(release_id: UUID | None) -> tuple[BackoutStep, ...]:
        facts = await views.release_facts(release_id) if release_id else None
        return facts.backout_steps if facts else ()

    stream = deployment_stream(deployment_id)
    current = await existing(
        uow.events,
        stream,
        Deployment(deployment_id),
        DeploymentEvent,
        f"no deployment {deployment_id}",
    )
    steps = await backout(current.release_id)
    return await change(
        uow,
        views,
        deployment_id,
        expected_version,
        meta,
        lambda d: d.roll_back(by, reason, steps),
        acting,
    )
