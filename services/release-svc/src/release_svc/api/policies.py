"""Routes for release policies: one per release type, the default until first set.

A policy is what segregation of duties and approval rest on, so a change to it is a
governance proposal (`ferry.proposals_api`): in force once another person holding
`change-authority` approves it.
"""

from __future__ import annotations

from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Request, Response

from ferry import commands, proposals
from ferry.auth import Principal, Reader, Role, allow
from ferry.db import UnitOfWork
from ferry.events.release import ReleaseType
from ferry.http import ExpectedVersion, etag, saved
from ferry.idempotency import Reply
from ferry.proposals_api import ProposalOut, proposed
from ferry.service import RequestMeta, UoW
from release_svc.api.schemas.policies import PolicyIn, PolicyOut
from release_svc.handlers import releases as handlers

router = APIRouter(prefix="/policies", tags=["release policies"])
AnyReleaseManager = Annotated[Principal, allow(Role.RELEASE_MANAGER)]
"""A release manager of every team: a policy governs every team's releases of its type."""


@router.get("", response_model=list[PolicyOut])
async def list_policies(uow: UoW, _: Reader) -> list[PolicyOut]:
    """The policy in force for each release type."""
    async with uow:
        found = [await handlers.load_policy(uow, t) for t in ReleaseType]
    return [PolicyOut.of(p.policy, p.version) for p in found]


@router.get("/{release_type}", response_model=PolicyOut)
async def get_policy(
    release_type: ReleaseType, uow: UoW, response_: Response, _: Reader
) -> PolicyOut:
    """The policy of one release type; its `ETag` ("0" for the default) goes in `If-Match`."""
    async with uow:
        found = await handlers.load_policy(uow, release_type)
    response_.headers["ETag"] = etag(found.version)
    return PolicyOut.of(found.policy, found.version)


@router.put(
    "/{release_type}",
    status_code=202,
    response_model=ProposalOut,
    # A release type always has a policy (its default at version 0): nothing to be found
    # missing, only a stale `If-Match` (409), which ferry.openapi declares.
    responses={200: {"model": PolicyOut, "description": "The policy is so already"}},
)
async def propose_policy(
    release_type: ReleaseType,
    body: PolicyIn,
    request: Request,
    _: AnyReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Propose a release type's new policy → `GovernanceChangeProposed`, `202` with the
    proposal (`Location: /proposals/{id}`). Once another person holding `change-authority`
    approves it, `ReleasePolicySet` puts it in force for validations and approvals from then
    on. Requires `If-Match`; a policy that is so already answers `200` and proposes nothing."""
    policy = body.to_policy(release_type)

    async def work(uow: UnitOfWork) -> Reply:
        change = await handlers.policy_change(policy, version, uow, body.reason)
        if change is not None:
            return proposed(await proposals.propose(uow, uuid4(), change, meta))
        current = await handlers.load_policy(uow, release_type)
        return saved(PolicyOut.of(current.policy, current.version), current.version)

    return await commands.respond(request.app.state.db, work)
