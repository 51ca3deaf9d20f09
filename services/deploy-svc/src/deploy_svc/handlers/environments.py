"""Command handlers of deploy-svc's environments: load the aggregate, let it decide (with
the other environments' targets, which it must keep apart from), append what it decided and
keep the environments' table. The caller commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from deploy_svc.domain.destinations import check_apart
from deploy_svc.domain.environment import Environment, SettingsCheck
from deploy_svc.projections import environments
from ferry import team_table
from ferry.aggregate import existing, rebuild, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, PreconditionRequired
from ferry.events.deploy import EnvironmentClass, EnvironmentDefined, EnvironmentEvent, TargetSpec
from ferry.events.governance import GovernedKind
from ferry.eventstore import WithEvents
from ferry.governance import Change, Proposal
from ferry.grants import Acting
from ferry.teams import Owned


def environment_stream(name: str) -> str:
    return f"{EnvironmentEvent.stream_prefix}-{name}"


async def load_environment(uow: WithEvents, name: str) -> Environment:
    return await rebuild(uow.events, environment_stream(name), Environment(name), EnvironmentEvent)


async def get_environment(uow: WithEvents, name: str) -> Environment:
    stream, missing = environment_stream(name), f"no environment {name}"
    return await existing(uow.events, stream, Environment(name), EnvironmentEvent, missing)


async def define_environment(
    uow: UnitOfWork,
    name: str,
    environment_class: EnvironmentClass,
    targets: Sequence[TargetSpec],
    checks: Mapping[str, SettingsCheck],
    expected_version: int | None,
    meta: Meta,
    acting: Acting,
    reason: str = "",
) -> Environment | Change:
    """Define or redefine an environment; redefining needs the version read (`If-Match`).
    A change that makes, unmakes or touches a production environment, or changes an
    environment's class, is returned, to be proposed: it is recorded once another person
    holding `change-authority` approves it."""
    await team_table.check(uow, acting, Owned.ENVIRONMENT, name, f"environment {name}")
    environment = await load_environment(uow, name)
    if environment.exists and expected_version is None:
        raise PreconditionRequired(f"{name} exists: send If-Match with the ETag you read")
    if environment.exists and expected_version != environment.version:
        raise ConcurrencyError(environment_stream(name), expected_version or 0)
    elsewhere = await environments.elsewhere(uow)
    new = environment.define(environment_class, targets, checks, elsewhere)
    if new and environment.governed(environment_class):
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
