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
from ferry.grants import Acting, OutsideTeam
from release_svc.adapters.release_streams import load_release as load_release
from release_svc.adapters.release_streams import stream_id as stream_id
from release_svc.domain.commands import (
    AgreeForTeam,
    ApprovalContext,
    Approve,
    BuildPackage,
    PlanRelease,
    RecordValidation,
    SetDependencies,
    SetScope,
    SetWindows,
)
from release_svc.domain.plan import InvalidPlan
from release_svc.domain.policy import Policy, ReleasePolicy
from release_svc.domain.release import Release
from release_svc.domain.release_state import services_of
from release_svc.handlers.views import ReleaseViews

Decision = Callable[[Release], Sequence[ReleaseEvent]]


def policy_stream_id(release_type: ReleaseType) -> str:
    return f"{ReleasePolicySet.stream_prefix}-{release_type}"


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


async def planned_for(asked: str | None, acting: Acting, views: ReleaseViews) -> str | None:
    """The team a new release is planned for: the one `asked`, which must exist and (unless
    the caller manages releases everywhere) be one of the caller's; by default the caller's
    only team, or none for a release manager of every team."""
    if asked is None:
        if acting.everywhere:
            return None
        if len(acting.teams) != 1:
            yours = ", ".join(sorted(acting.teams))
            raise InvalidPlan("team", f"name the team the release is for: one of {yours}")
        [asked] = acting.teams
    if not await views.team_exists(asked):
        raise InvalidPlan("team", f"no team {asked}")
    acting.on({asked}, f"a release for team {asked}")
    return asked


async def plan_release(cmd: PlanRelease, uow: WithEvents, meta: Meta) -> Release:
    """Plan a release (appends `ReleasePlanned`). Its id is new, so its stream is not read
    first: were it not new, the append at version 0 would be refused."""
    release = Release(cmd.release_id)
    return await record(uow.events, stream_id(release.id), release, release.plan(cmd), meta)


async def check_teams(views: ReleaseViews, acting: Acting, release: Release) -> None:
    """Refuse (403 naming the teams) a caller whose role is held only for other teams than
    those the release touches: the one it is planned for and those owning its services."""
    if acting.everywhere:
        return
    planned_for = {release.team} if release.team else set()
    touched = await views.owning_teams(release.services) | planned_for
    acting.on(touched, f"release {release.identifier}")


async def change(
    uow: WithEvents,
    release_id: UUID,
    expected_version: int,
    meta: Meta,
    decide: Decision,
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    """Let the release, if still at `expected_version` and one of `acting`'s teams', decide;
    append what it decided."""
    release = await get_release_at(uow, release_id, expected_version)
    await check_teams(views, acting, release)
    return await record(uow.events, stream_id(release.id), release, decide(release), meta)


async def set_scope(
    cmd: SetScope,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    """Replace the release's scope. A release manager of a team adds only services that
    team owns: another team's service, or one no team owns, needs a release manager of
    every team (those already in the scope stay, whoever put them there)."""
    release = await get_release_at(uow, cmd.release_id, expected_version)
    await check_teams(views, acting, release)
    if not acting.everywhere:
        for service in sorted(services_of(cmd.items) - release.services):
            acting.on(await views.owning_teams({service}), f"service {service}")
    return await record(uow.events, stream_id(release.id), release, release.set_scope(cmd), meta)


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
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    """Replace a release's dependencies, refusing unknown releases, cycles, and dependencies
    that deploy later than this release."""
    return await change(
        uow,
        cmd.release_id,
        expected_version,
        meta,
        lambda r: r.set_dependencies(cmd, graph, names, dependency_windows),
        acting,
        views,
    )


async def set_windows(
    cmd: SetWindows,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    freezes: Sequence[FreezePeriod],
    dependency_windows: Mapping[str, Sequence[DeploymentWindow]],
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    return await change(
        uow,
        cmd.release_id,
        expected_version,
        meta,
        lambda r: r.set_windows(cmd, freezes, dependency_windows),
        acting,
        views,
    )


async def build_package(
    cmd: BuildPackage,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    known: Set[MediaRef],
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    decide: Decision = lambda r: r.build_package(cmd, known)  # noqa: E731 (a name fits the call)
    return await change(uow, cmd.release_id, expected_version, meta, decide, acting, views)


async def policy_of(uow: WithEvents, release: Release) -> Policy:
    return (await load_policy(uow, release.release_type)).policy


async def record_validation(
    cmd: RecordValidation,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    release = await get_release_at(uow, cmd.release_id, expected_version)
    await check_teams(views, acting, release)
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
        owning_teams=await views.owning_teams(release.services),
    )
    new = release.approve(cmd, context)
    return await record(uow.events, stream_id(release.id), release, new, meta)


async def agree_for_team(
    cmd: AgreeForTeam,
    expected_version: int,
    uow: WithEvents,
    meta: Meta,
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    """Record a team's agreement to the release's scope, given by one holding the release
    manager's role for that very team: a role held everywhere speaks for no one team."""
    release = await get_release_at(uow, cmd.release_id, expected_version)
    if cmd.team not in acting.teams:
        raise OutsideTeam(
            f"only a release manager of {cmd.team} agrees for it; a role held for every team "
            "or for another team does not",
            {cmd.team},
        )
    new = release.agree_for_team(cmd, await views.owning_teams(release.services))
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
