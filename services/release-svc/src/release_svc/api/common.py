"""What every release-svc route shares: problems, roles, running a change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import Request, Response

from ferry import commands
from ferry.auth import Principal, Role, allow_scoped
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.grants import Acting
from ferry.http import problem_responses, saved
from ferry.idempotency import Reply
from release_svc.adapters.views import PostgresViews
from release_svc.api.schemas.releases import ReleaseOut
from release_svc.domain.release import Release
from release_svc.handlers import releases as handlers
from release_svc.projections import releases as projections

ReleaseManager = Annotated[Principal, allow_scoped(Role.RELEASE_MANAGER)]
"""A release manager, everywhere or of a team: one of a team acts only on releases planned
for that team or changing its services (`handlers.releases.check_teams`)."""


def managing(caller: Principal) -> Acting:
    """`caller` acting as a release manager, for the check of the release's teams."""
    return caller.acting_as(Role.RELEASE_MANAGER)


# Each route's own problems; ferry.openapi adds those every route shares (401, 403, 422,
# 503, and 400, 409, 428 where a body or `If-Match` is taken).
NO_RELEASE = {404: "No such release"}
UNMET = {422: "Invalid field or unmet rule; `errors` names each"}
PROBLEMS = problem_responses(
    {
        403: "The caller's roles do not allow this, or a rule names why not",
        **NO_RELEASE,
        409: "Conflict with the release's current state or a newer version (re-read it)",
        **UNMET,
    }
)
"""A change to a release: what every route that takes `If-Match` for one may answer."""
BAD_CURSOR = problem_responses({400: "A cursor this API did not give out"})


async def change_release(
    request: Request, change: Callable[[UnitOfWork], Awaitable[Release]]
) -> Response:
    """Run a change to an existing release in one transaction; reply with the release."""

    async def work(uow: UnitOfWork) -> Reply:
        release = await change(uow)
        await projections.save(uow, release)
        return saved(ReleaseOut.of(release), release.version)

    return await commands.respond(request.app.state.db, work)


async def decide(
    request: Request,
    release_id: UUID,
    version: int,
    meta: Meta,
    decision: handlers.Decision,
    acting: Acting,
) -> Response:
    """A change the release decides from the command alone, by a caller `acting` so."""
    return await change_release(
        request,
        lambda uow: handlers.change(
            uow, release_id, version, meta, decision, acting, PostgresViews(uow)
        ),
    )
