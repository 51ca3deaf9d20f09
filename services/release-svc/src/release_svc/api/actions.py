"""Routes of improvement actions: the list across releases, one action, and its changes.

A review raises them (`POST /releases/{id}/review`); their owners then move them on until
done or dropped. The release's stream holds them, so a change's `If-Match` is the release's
version (each action shows it as `version`, and its `ETag`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from ferry import commands
from ferry.auth import EVERYONE, Principal, Reader, Role, allow_scoped
from ferry.db import UnitOfWork
from ferry.events.release import ActionState
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.service import RequestMeta, UoW
from release_svc.adapters import improvement_actions
from release_svc.adapters.views import PostgresViews
from release_svc.api.common import BAD_CURSOR, ReleaseManager, managing
from release_svc.api.filters import Cursor, Limit
from release_svc.api.schemas.actions import (
    ActionAssignmentIn,
    ActionMoveIn,
    ImprovementActionOut,
    ImprovementActionPage,
)
from release_svc.domain.commands import ProgressAction, ReassignAction
from release_svc.domain.release import Release
from release_svc.handlers import actions as handlers
from release_svc.handlers import releases as release_handlers
from release_svc.projections import releases as projections

router = APIRouter(prefix="/improvement-actions", tags=["improvement actions"])

ActionOwner = Annotated[Principal, allow_scoped(*(EVERYONE - {Role.AUDITOR, Role.VIEWER}))]
"""Whoever may own an action: any role that changes things (the auditor and the viewer
only read). The handler lets the action's owner through, and anyone else only as the
release's manager of its teams."""

NO_ACTION = {404: "No such improvement action"}
PROBLEMS = problem_responses(
    {
        403: "Neither the action's owner nor the release's manager or owners",
        **NO_ACTION,
        409: "Not a move its state allows, or the release changed since it was read",
        422: "Invalid field or unmet rule; `errors` names each",
    }
)


def today() -> date:
    return datetime.now(UTC).date()


@router.get("", response_model=ImprovementActionPage, responses=BAD_CURSOR)
async def list_actions(
    uow: UoW,
    caller: Reader,
    owner: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    state: ActionState | None = None,
    overdue: Annotated[
        bool, Query(description="only actions unfinished after their due date")
    ] = False,
    release_id: UUID | None = None,
    team: Annotated[
        str | None,
        Query(
            pattern=TEAM_NAME_PATTERN,
            description="only actions of releases this team's; by default the caller's teams' "
            "when all its roles are held for teams",
        ),
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> ImprovementActionPage:
    """Improvement actions across releases, soonest due first (undated last), a page at a
    time (follow `next`)."""
    now = today()
    filters = improvement_actions.Filters(
        owner=owner,
        state=state,
        overdue_on=now if overdue else None,
        release_id=release_id,
        teams=caller.listed_teams(team),
    )
    async with uow:
        rows, next_cursor = await improvement_actions.action_page(uow, filters, limit, cursor)
    items = [ImprovementActionOut.of_row(row, now) for row in rows]
    return ImprovementActionPage(items=items, next=next_cursor)


@router.get(
    "/{action_id}", response_model=ImprovementActionOut, responses=problem_responses(NO_ACTION)
)
async def get_action(
    action_id: UUID, uow: UoW, response: Response, _: Reader
) -> ImprovementActionOut:
    """One action; its `ETag` is the version to send in `If-Match` to change it."""
    async with uow:
        row = await improvement_actions.action(uow, action_id)
    response.headers["ETag"] = etag(row["stream_version"])
    return ImprovementActionOut.of_row(row, today())


@router.put("/{action_id}/state", response_model=ImprovementActionOut, responses=PROBLEMS)
async def move_action(
    action_id: UUID,
    move: ActionMoveIn,
    request: Request,
    caller: ActionOwner,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Start, finish, drop (saying why) or reopen an action → `ImprovementActionProgressed`.
    `done` and `dropped` are final. Its owner or the release's manager or owners may."""
    cmd = ProgressAction(action_id, move.state, caller.subject, move.note)
    acting = managing(caller)

    async def change(uow: UnitOfWork, release_id: UUID) -> Release:
        views = PostgresViews(uow)
        return await handlers.progress(uow, release_id, version, meta, cmd, acting, views)

    return await _change_action(request, action_id, change)


@router.put("/{action_id}/assignment", response_model=ImprovementActionOut, responses=PROBLEMS)
async def assign_action(
    action_id: UUID,
    assignment: ActionAssignmentIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Give an unfinished action another owner or due date →
    `ImprovementActionReassigned`. The release's manager or owners may."""
    cmd = ReassignAction(action_id, assignment.owner, assignment.due, caller.subject)

    async def change(uow: UnitOfWork, release_id: UUID) -> Release:
        return await release_handlers.change(
            uow,
            release_id,
            version,
            meta,
            lambda release: release.reassign_action(cmd),
            managing(caller),
            PostgresViews(uow),
        )

    return await _change_action(request, action_id, change)


async def _change_action(
    request: Request,
    action_id: UUID,
    change: Callable[[UnitOfWork, UUID], Awaitable[Release]],
) -> Response:
    """Run a change of the action's release in one transaction; reply with the action."""

    async def work(uow: UnitOfWork) -> Reply:
        release = await change(uow, await improvement_actions.release_of(uow, action_id))
        await projections.save(uow, release)
        return saved(ImprovementActionOut.of(release, action_id, today()), release.version)

    return await commands.respond(request.app.state.db, work)
