"""Command handlers: load the release, gather what its decision needs, let it decide,
append what it decided. The caller commits."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from uuid import UUID

from ferry.aggregate import at_version, existing, rebuild, record
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError
from ferry.events.governance import GovernedKind
from ferry.events.policy import ReleasePolicySet
from ferry.events.release import DeploymentWindow, MediaRef, ReleaseEvent, ReleaseType
from ferry.eventstore import WithEvents
from ferry.freezes import FreezePeriod
from ferry.governance import Change
from release_svc.domain.commands import (
    ApprovalContext,
    Approve,
    BuildPackage,
    PlanRelease,
    RecordValidation,
    SetDependencies,
    SetWindows,
)
from release_svc.domain.policy import Policy, ReleasePolicy
from release_svc.domain.release import Release
from release_svc.handlers.views import ReleaseViews

Decision = Callable[[Release], Sequence[ReleaseEvent]]


def stream_id(release_id: UUID) -> str:
    return f"{ReleaseEvent.stream_prefix}-{release_id}"


def policy_stream_id(release_type: ReleaseType) -> str:
    return f"{ReleasePolicySet.stream_prefix}-{release_type}"


async def load_release(uow: WithEvents, release_id: UUID) -> Release:
    """The release as its stream tells it; a release never planned has version 0."""
    return await rebuild(uow.events, stream_id(release_id), Release(release_id), ReleaseEvent)


async def get_release(uow: WithEvents, release_id: UUID) -> Release:
    stream, missing = stream_id(release_id), f"no release {release_id}"
    return await existing(uow.events, stream, Release(release_id), ReleaseEvent, missing)


async def get_release_at(uow: WithEvents, release_id: UUID, expected_version: int) -> Release:
    """The release, if it is still at the version the caller read (its `If-Match`)."""
    stream, missing = stream_id(release_id), f"no release {release_id}"
    return await at_version(
        uow.events, stream, Release(release_id), ReleaseEvent, missing, expected_version
    )


async def load_policy(uow: WithEvents, release_type: ReleaseType) -> ReleasePolicy:
    """The policy of a release type; its default until a release manager sets one."""
    stream = policy_stream_id(release_type)
    return await rebuild(uow.events, stream, ReleasePolicy(release_type), ReleasePolicySet)


async def plan_release(cmd: PlanRelease, uow: WithEvents, meta: Meta) -> Release:
    """Plan a release (appends `ReleasePlanned`). Its id is new, so its stream is not read
    first: were it not new, the append at version 0 would be refused."""
    release = Release(cmd.release_id)
    return await record(uow.events, stream_id(release.id), release, release.plan(cmd), meta)


async def change(
    uow: WithEvents, release_id: UUID, expected_version: int, meta: Meta, decide: Decision
) -> Release:
    """Let the release, if still at `expected_version`, decide; append what it decided."""
    release = await get_release_at(uow, release_id, expected_version)
    return await record(uow.events, stream_id(release.id), release, decide(release), meta)


async def react(uow: WithEvents, release_id: UUID, meta: Meta, decide: Decision) -> Release:
    """Like `change`, for what another service reports: no version to hold it to."""
    release = await get_release(uow, release_id)
    return await record(uow.events, stream_id(release.id), release, decide(release), meta)


async def set_dependencies(
    cmd: SetDependencies,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    graph: Mapping[UUID, Set[UUID]],
    names: Mapping[UUID, str],
    dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
) -> Release:
    """Replace a release's dependencies, refusing unknown releases, cycles, and dependencies
    that deploy later than this release."""
    return await change(
        uow,
        cmd.release_id,
        expected_version,
        meta,
        lambda r: r.set_dependencies(cmd, graph, names, dependency_windows),
    )


async def set_windows(
    cmd: SetWindows,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    freezes: Sequence[FreezePeriod],
    dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
) -> Release:
    return await change(
        uow,
        cmd.release_id,
        expected_version,
        meta,
        lambda r: r.set_windows(cmd, freezes, dependency_windows),
    )


async def build_package(
    cmd: BuildPackage, expected_version: int, uow: WithEvents, meta: Meta, known: Set[MediaRef]
) -> Release:
    return await change(
        uow, cmd.release_id, expected_version, meta, lambda r: r.build_package(cmd, known)
    )


async def policy_of(uow: WithEvents, release: Release) -> Policy:
    return (await load_policy(uow, release.release_type)).policy


async def record_validation(
    cmd: RecordValidation, expected_version: int, uow: WithEvents, meta: Meta
) -> Release:
    release = await get_release_at(uow, cmd.release_id, expected_version)
    policy = await policy_of(uow, release)
    new = release.record_validation(cmd, policy)
    return await record(uow.events, stream_id(release.id), release, new, meta)


async def approve(
    cmd: Approve,
    expected_version: int | None,
    uow: WithEvents,
    views: ReleaseViews,
    meta: Meta,
) -> Release:
    """Record an approval; `expected_version` None: a change tool's decision, taken as it
    comes."""
    if expected_version is None:
        release = await get_release(uow, cmd.release_id)
    else:
        release = await get_release_at(uow, cmd.release_id, expected_version)
    package = release.package.media if release.package else ()
    context = ApprovalContext(
        policy=await policy_of(uow, release),
        freezes=await views.freezes_in_force(),
        library=await views.known_media(package),
    )
    new = release.approve(cmd, context)
    return await record(uow.events, stream_id(release.id), release, new, meta)


async def policy_change(
    policy: Policy, expected_version: int, uow: WithEvents, reason: str
) -> Change | None:
    """The governance change that would put `policy` in force, if the policy is still at
    `expected_version` (None: it is the policy in force already). Only proposed: it takes
    effect once another person holding `change-authority` approves (`ferry.proposals`)."""
    current = await load_policy(uow, policy.release_type)
    stream = policy_stream_id(policy.release_type)
    if current.version != expected_version:
        raise ConcurrencyError(stream, expected_version)
    new = current.set(policy)
    if not new:
        return None
    return Change(GovernedKind.RELEASE_POLICY, stream, current.version, new[0], reason)
