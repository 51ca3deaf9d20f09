"""Routes of teams: what each owns and who holds which role for it.

Who may act on what follows from the teams, so defining or redefining one is a governance
proposal (`ferry.proposals_api`), made by a `ferry-admin` and recorded once another person
holding `change-authority` approves it.
"""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Path, Request, Response

from ferry import commands, proposals, team_table
from ferry.auth import Principal, Reader, Role, allow
from ferry.db import UnitOfWork
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.http import VersionIfAny, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.proposals_api import ProposalOut, proposed
from ferry.service import RequestMeta, UoW
from ferry.teams import Owned
from release_svc.api.schemas.teams import TeamIn, TeamOut
from release_svc.domain.teams import Team
from release_svc.handlers import teams as handlers

router = APIRouter(prefix="/teams", tags=["teams"])
Admin = Annotated[Principal, allow(Role.FERRY_ADMIN)]

TeamName = Annotated[str, Path(pattern=TEAM_NAME_PATTERN, description="lower case, digits, '-'")]
NO_TEAM = problem_responses({404: "No such team"})


@router.get("", response_model=list[TeamOut])
async def list_teams(uow: UoW, _: Reader) -> list[TeamOut]:
    """Every team, by name."""
    async with uow:
        found = await team_table.all_teams(uow)
    return [TeamOut.of(team) for team in found]


@router.get("/{name}", response_model=TeamOut, responses=NO_TEAM)
async def get_team(name: TeamName, uow: UoW, response_: Response, _: Reader) -> TeamOut:
    """One team; its `ETag` goes in `If-Match` to propose a change to it."""
    async with uow:
        team = await handlers.get_team(uow, name)
    assert team.definition is not None
    response_.headers["ETag"] = etag(team.version)
    return TeamOut.of(team.definition)


@router.put(
    "/{name}",
    status_code=202,
    response_model=ProposalOut,
    responses={
        200: {"model": TeamOut, "description": "The team is so already"},
        **problem_responses({409: "Another team owns one of these, or the team changed"}),
    },
)
async def propose_team(
    name: TeamName,
    body: TeamIn,
    request: Request,
    _: Admin,
    meta: RequestMeta,
    version: VersionIfAny,
) -> Response:
    """Propose a team's definition → `GovernanceChangeProposed`, `202` with the proposal
    (`Location: /proposals/{id}`): once another person holding `change-authority` approves
    it, `TeamDefined` puts it in force in every service. A new team needs no `If-Match`;
    changing one does. A definition that is so already answers `200` and proposes nothing."""
    owned = {
        Owned.SERVICE: body.services,
        Owned.ENVIRONMENT: body.environments,
        Owned.CONFIGURATION_ITEM: body.configuration_items,
    }
    members = [member.to_member() for member in body.members]

    async def work(uow: UnitOfWork) -> Reply:
        found = await handlers.define_team(
            uow, name, body.description, owned, members, version, body.reason
        )
        if isinstance(found, Team):
            assert found.definition is not None
            return saved(TeamOut.of(found.definition), found.version)
        return proposed(await proposals.propose(uow, uuid4(), found, meta))

    return await commands.respond(request.app.state.db, work)
