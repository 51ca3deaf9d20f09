"""Command handlers of teams: every definition is a governance change, proposed here and
recorded (with the teams' table) once approved. The caller commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ferry import team_table
from ferry.aggregate import existing, rebuild
from ferry.db import UnitOfWork
from ferry.errors import ConcurrencyError, PreconditionRequired
from ferry.events.governance import GovernedKind
from ferry.events.team import TeamDefined, TeamEvent, TeamMember
from ferry.eventstore import WithEvents
from ferry.governance import Change, Proposal
from ferry.teams import Owned, check_apart
from release_svc.domain.teams import Team


def team_stream(name: str) -> str:
    return f"{TeamEvent.stream_prefix}-{name}"


async def load_team(uow: WithEvents, name: str) -> Team:
    return await rebuild(uow.events, team_stream(name), Team(name), TeamEvent)


async def get_team(uow: WithEvents, name: str) -> Team:
    return await existing(uow.events, team_stream(name), Team(name), TeamEvent, f"no team {name}")


async def define_team(
    uow: UnitOfWork,
    name: str,
    description: str,
    owned: Mapping[Owned, Sequence[str]],
    members: Sequence[TeamMember],
    expected_version: int | None,
    reason: str,
) -> Team | Change:
    """The governance change defining (or redefining) a team, or the team if it is so
    already; redefining one needs the version read (`If-Match`)."""
    team = await load_team(uow, name)
    if team.exists and expected_version is None:
        raise PreconditionRequired(f"team {name} exists: send If-Match with the ETag you read")
    if team.exists and expected_version != team.version:
        raise ConcurrencyError(team_stream(name), expected_version or 0)
    new = team.define(description, owned, members, await team_table.ownership(uow))
    if not new:
        return team
    return Change(GovernedKind.TEAM, team_stream(name), team.version, new[0], reason)


async def team_defined(uow: UnitOfWork, proposal: Proposal) -> None:
    """An approved definition is recorded: the teams' table follows, if the team still owns
    nothing another team has come to own since it was proposed."""
    change = proposal.change
    assert change is not None
    assert isinstance(change.effect, TeamDefined)
    check_apart(change.effect, await team_table.ownership(uow))
    await team_table.save(uow, change.effect)
