"""Routes of freeze (blackout) periods: declare, list, read, and propose to lift.

A freeze changes no release: the schedule flags the windows it covers, and a release's
windows and approval are checked against the freezes in force.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response

from ferry import commands, proposals
from ferry.auth import Principal, Reader, Role, allow
from ferry.db import UnitOfWork
from ferry.freezes import FreezePeriod
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import IdempotencyKey, Reply
from ferry.proposals_api import ProposalOut, proposed
from ferry.service import RequestMeta, UoW
from release_svc.adapters import freeze_periods
from release_svc.api.common import BAD_CURSOR
from release_svc.api.filters import Cursor, Limit, ScopeQuery
from release_svc.api.routes import IdempotencyKeyHeader
from release_svc.api.schemas.freezes import FreezeIn, FreezeOut, FreezePage, LiftIn
from release_svc.domain.freezes import Freeze
from release_svc.handlers import freezes as freeze_handlers
from release_svc.projections import freezes as freeze_projection

router = APIRouter(prefix="/freezes", tags=["freezes"])
FreezeAuthority = Annotated[Principal, allow(Role.RELEASE_MANAGER, Role.CHANGE_AUTHORITY)]

# Each route's own problems; ferry.openapi adds those every route shares (401, 403, 422,
# 503, and 400, 409, 428 where a body or `If-Match` is taken).
NO_FREEZE = {404: "No such freeze"}
LIFT_PROBLEMS = problem_responses(
    {**NO_FREEZE, 409: "The freeze is lifted already, or changed since it was read (re-read it)"}
)


@router.post("", status_code=201, response_model=FreezeOut)
async def declare_freeze(
    freeze: FreezeIn,
    request: Request,
    caller: FreezeAuthority,
    meta: RequestMeta,
    key: IdempotencyKeyHeader = None,
) -> Response:
    """Declare a freeze period → `FreezePeriodDeclared`: nothing in its environments and
    services (empty: all) may be deployed from `start` to `end`. Releases are not changed;
    the schedule flags the windows it covers."""
    period = FreezePeriod(
        freeze_id=uuid4(),
        start=freeze.start,
        end=freeze.end,
        reason=freeze.reason,
        environments=frozenset(freeze.environments),
        services=frozenset(freeze.services),
    )
    # Scoped to the caller: one client's key never replays another's reply.
    scope = f"POST /freezes {caller.subject}"
    idempotency = IdempotencyKey.of(scope, key, await request.body()) if key else None
    run = _run(lambda uow: freeze_handlers.declare_freeze(period, uow, meta), status=201)
    return await commands.respond(request.app.state.db, run, idempotency)


@router.post(
    "/{freeze_id}/lift", status_code=202, response_model=ProposalOut, responses=LIFT_PROBLEMS
)
async def lift_freeze(
    freeze_id: UUID,
    lift: LiftIn,
    request: Request,
    _: FreezeAuthority,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Propose lifting a freeze → `GovernanceChangeProposed`, `202` with the proposal
    (`Location: /proposals/{id}`): it is lifted (`FreezePeriodLifted`) once another person
    holding `change-authority` approves. Requires `If-Match`."""

    async def work(uow: UnitOfWork) -> Reply:
        change = await freeze_handlers.lift_change(freeze_id, lift.reason, version, uow)
        return proposed(await proposals.propose(uow, uuid4(), change, meta))

    return await commands.respond(request.app.state.db, work)


def _run(
    change: Callable[[UnitOfWork], Awaitable[Freeze]], status: int = 200
) -> Callable[[UnitOfWork], Awaitable[Reply]]:
    """The work of one freeze change: its events and its row in one transaction."""

    async def work(uow: UnitOfWork) -> Reply:
        freeze = await change(uow)
        await freeze_projection.save(uow, freeze)
        location = f"/freezes/{freeze.id}" if status == 201 else None
        return saved(FreezeOut.of(freeze), freeze.version, status=status, location=location)

    return work


@router.get("", response_model=FreezePage, responses=BAD_CURSOR)
async def list_freezes(
    uow: UoW,
    _: Reader,
    where: ScopeQuery,
    include_lifted: bool = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> FreezePage:
    """Freezes in the order they start, a page at a time (follow `next`): those overlapping
    `from` to `to` that apply to `environment` and `service`; lifted ones only if asked."""
    async with uow:
        filters = freeze_periods.Filters(where, include_lifted)
        freezes, next_cursor = await freeze_periods.list_page(uow, filters, limit, cursor)
    return FreezePage(items=[FreezeOut.of(f) for f in freezes], next=next_cursor)


@router.get("/{freeze_id}", response_model=FreezeOut, responses=problem_responses(NO_FREEZE))
async def get_freeze(freeze_id: UUID, uow: UoW, response: Response, _: Reader) -> FreezeOut:
    """One freeze; its `ETag` is the version to send in `If-Match` to lift it."""
    async with uow:
        freeze = await freeze_handlers.get_freeze(uow, freeze_id)
    response.headers["ETag"] = etag(freeze.version)
    return FreezeOut.of(freeze)
