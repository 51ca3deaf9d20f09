"""Command handlers of deploy-svc: load the aggregate, gather what its decision needs,
let it decide, append what it decided. The caller commits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from deploy_svc.adapters import deployments, environments, release_facts
from deploy_svc.domain.deployment import Deployment, ScheduleDeployment
from deploy_svc.domain.destinations import check_apart
from deploy_svc.domain.environment import Environment, SettingsCheck
from deploy_svc.domain.plans import Plan, judge
from deploy_svc.domain.waves import waves
from ferry.aggregate import at_version, existing, rebuild, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, PreconditionRequired
from ferry.events.deploy import (
    DeploymentEvent,
    EnvironmentDefined,
    EnvironmentEvent,
    Strategy,
    TargetSpec,
    Wave,
)
from ferry.events.governance import GovernedKind
from ferry.governance import Change, Proposal

Decision = Callable[[Deployment], Sequence[DeploymentEvent]]


def deployment_stream(deployment_id: UUID) -> str:
    return f"{DeploymentEvent.stream_prefix}-{deployment_id}"


def environment_stream(name: str) -> str:
    return f"{EnvironmentEvent.stream_prefix}-{name}"


async def load_environment(uow: UnitOfWork, name: str) -> Environment:
    return await rebuild(uow.events, environment_stream(name), Environment(name), EnvironmentEvent)


async def get_environment(uow: UnitOfWork, name: str) -> Environment:
    stream, missing = environment_stream(name), f"no environment {name}"
    return await existing(uow.events, stream, Environment(name), EnvironmentEvent, missing)


async def define_environment(
    uow: UnitOfWork,
    name: str,
    production: bool,
    targets: Sequence[TargetSpec],
    checks: Mapping[str, SettingsCheck],
    expected_version: int | None,
    meta: Meta,
    reason: str = "",
) -> Environment | Change:
    """Define or redefine an environment; redefining needs the version read (`If-Match`).
    A change that makes, unmakes or touches a production environment is returned, to be
    proposed: it is recorded once another person holding `change-authority` approves it."""
    environment = await load_environment(uow, name)
    if environment.exists and expected_version is None:
        raise PreconditionRequired(f"{name} exists: send If-Match with the ETag you read")
    if environment.exists and expected_version != environment.version:
        raise ConcurrencyError(environment_stream(name), expected_version or 0)
    new = environment.define(production, targets, checks, await environments.elsewhere(uow))
    if new and environment.governed(production):
        stream = environment_stream(name)
        return Change(GovernedKind.ENVIRONMENT, stream, environment.version, new[0], reason)
    await record(uow.events, environment_stream(name), environment, new, meta)
    await environments.save(uow, environment)
    return environment


async def environment_defined(uow: UnitOfWork, proposal: Proposal) -> None:
    """An approved definition is recorded: the environments' table follows."""
    change = proposal.change
    assert change is not None
    assert isinstance(change.effect, EnvironmentDefined)
    defined = change.effect
    # Others may have been defined since the proposal: the definition must still keep apart.
    others = await environments.elsewhere(uow)
    others.pop(defined.environment, None)  # as it was: replaced by this definition
    check_apart(defined.production, defined.targets, others)
    # Read after the definition's append, which the read flushes.
    await environments.save(uow, await get_environment(uow, defined.environment))


async def get_deployment(uow: UnitOfWork, deployment_id: UUID) -> Deployment:
    stream, missing = deployment_stream(deployment_id), f"no deployment {deployment_id}"
    return await existing(uow.events, stream, Deployment(deployment_id), DeploymentEvent, missing)


@dataclass(frozen=True)
class PlanDeployment:
    deployment_id: UUID
    release_id: UUID
    environment: str
    targets: Sequence[str]
    """Empty: every target of the environment."""
    strategy: Strategy
    sizes: Sequence[int]
    percentages: Sequence[float]
    canary: int
    soak_seconds: float
    start: datetime
    by: str


async def schedule_deployment(uow: UnitOfWork, cmd: PlanDeployment, meta: Meta) -> Deployment:
    """Accept a deployment plan (`DeploymentScheduled`) if every rule holds."""
    await deployments.hold_environment(uow, cmd.environment)
    facts = await release_facts.facts(uow, cmd.release_id)
    environment = await load_environment(uow, cmd.environment)
    targets = list(cmd.targets) or [t.name for t in environment.targets]
    depends_on = facts.depends_on if facts else frozenset()
    judge(
        Plan(cmd.release_id, cmd.environment, targets, cmd.start, cmd.by),
        facts,
        environment,
        await release_facts.freezes_in_force(uow),
        await release_facts.deployed_to(uow, depends_on, cmd.environment),
        await deployments.busy_targets(uow, cmd.environment),
        await release_facts.identifiers(uow, depends_on),
    )
    assert facts is not None  # judged
    split = waves(
        cmd.strategy, targets, sizes=cmd.sizes, percentages=cmd.percentages, canary=cmd.canary
    )
    deployment = Deployment(cmd.deployment_id)
    new = deployment.schedule(
        ScheduleDeployment(
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
        )
    )
    await record(uow.events, deployment_stream(deployment.id), deployment, new, meta)
    await deployments.save(uow, deployment)
    return deployment


async def change(
    uow: UnitOfWork,
    deployment_id: UUID,
    expected_version: int | None,
    meta: Meta,
    decide: Decision,
) -> Deployment:
    """Let the deployment (at `expected_version`, if given) decide; append; update the list."""
    stream, missing = deployment_stream(deployment_id), f"no deployment {deployment_id}"
    blank = Deployment(deployment_id)
    if expected_version is None:
        deployment = await existing(uow.events, stream, blank, DeploymentEvent, missing)
    else:
        deployment = await at_version(
            uow.events, stream, blank, DeploymentEvent, missing, expected_version
        )
    await record(uow.events, stream, deployment, decide(deployment), meta)
    await deployments.save(uow, deployment)
    return deployment
