"""Readiness before go-live: confirming each item a release's policy asks for, and what is
still open. deploy-svc refuses a production deployment while an item its approval named
is open."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response

from ferry import commands
from ferry.auth import Principal, Reader, Role, allow_scoped
from ferry.db import UnitOfWork
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.service import RequestMeta, UoW
from release_svc.adapters.views import PostgresViews
from release_svc.api.common import NO_RELEASE, PROBLEMS
from release_svc.api.schemas.readiness import ReadinessIn, ReadinessOut
from release_svc.domain.commands import ConfirmReadiness
from release_svc.domain.readiness import CONFIRMED_BY, check_confirmer
from release_svc.handlers import releases as handlers
from release_svc.projections import releases as projections

router = APIRouter(prefix="/releases/{release_id}/readiness", tags=["readiness"])
Confirmer = Annotated[Principal, allow_scoped(Role.RELEASE_MANAGER, Role.OPERATIONS)]
"""Operations confirm what the live side takes on, the release manager what the release
delivers (`domain.readiness.CONFIRMED_BY`); each for the release's teams."""


@router.get("", response_model=ReadinessOut, responses=problem_responses(NO_RELEASE))
async def readiness(release_id: UUID, uow: UoW, response: Response, _: Reader) -> ReadinessOut:
    """Each readiness item: whether it is needed (as the release's approval named them;
    before approval, by its policy now), who confirmed it with which evidence, and which
    needed ones are still open."""
    async with uow:
        release = await handlers.get_release(uow, release_id)
        policy = await handlers.policy_of(uow, release)
    response.headers["ETag"] = etag(release.version)
    return ReadinessOut.of(release, policy)


@router.post("", response_model=ReadinessOut, responses=PROBLEMS)
async def confirm(
    release_id: UUID,
    body: ReadinessIn,
    request: Request,
    caller: Confirmer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Confirm one item ready, with its evidence → `ReadinessConfirmed`. Operations confirm
    `service_desk_briefed` and `operations_acceptance`, the release manager
    `training_delivered` and `documentation_published`; each holding the role for the
    release's teams. Confirmed again with other evidence, the new evidence is recorded."""
    role = Role(CONFIRMED_BY[body.item])
    held = frozenset(str(r) for r in Role if caller.has_any_for_some_team([r]))
    # Said before the teams are checked: the role is what the caller lacks, not a team.
    check_confirmer(body.item, held)
    cmd = ConfirmReadiness(release_id, body.item, body.evidence, caller.subject, held)

    async def work(uow: UnitOfWork) -> Reply:
        release = await handlers.change(
            uow,
            release_id,
            version,
            meta,
            lambda r: r.confirm_readiness(cmd),
            caller.acting_as(role),
            PostgresViews(uow),
        )
        await projections.save(uow, release)
        policy = await handlers.policy_of(uow, release)
        return saved(ReadinessOut.of(release, policy), release.version)

    return await commands.respond(request.app.state.db, work)
