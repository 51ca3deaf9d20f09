"""Routes for release policies: one per release type, the default until first set."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ferry import commands
from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.events.release import ReleaseType
from ferry.http import ExpectedVersion, etag
from ferry.idempotency import Reply, json_reply
from ferry.service import RequestMeta, UoW
from release_svc import handlers
from release_svc.api.common import PROBLEMS, ReleaseManager
from release_svc.api.schemas import PolicyIn, PolicyOut

router = APIRouter(prefix="/policies", tags=["release policies"])


@router.get("", response_model=list[PolicyOut], responses=PROBLEMS)
async def list_policies(uow: UoW, _: Reader) -> list[PolicyOut]:
    """The policy in force for each release type."""
    async with uow:
        found = [await handlers.load_policy(uow, t) for t in ReleaseType]
    return [PolicyOut.of(p.policy, p.version) for p in found]


@router.get("/{release_type}", response_model=PolicyOut, responses=PROBLEMS)
async def get_policy(
    release_type: ReleaseType, uow: UoW, response_: Response, _: Reader
) -> PolicyOut:
    """The policy of one release type; its `ETag` ("0" for the default) goes in `If-Match`."""
    async with uow:
        found = await handlers.load_policy(uow, release_type)
    response_.headers["ETag"] = etag(found.version)
    return PolicyOut.of(found.policy, found.version)


@router.put("/{release_type}", response_model=PolicyOut, responses=PROBLEMS)
async def set_policy(
    release_type: ReleaseType,
    body: PolicyIn,
    request: Request,
    _: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Replace a release type's policy → `ReleasePolicySet`. It applies to validations and
    approvals from now on. Requires `If-Match`."""
    policy = body.to_policy(release_type)

    async def work(uow: UnitOfWork) -> Reply:
        found = await handlers.set_policy(policy, version, uow, meta)
        out = PolicyOut.of(found.policy, found.version).model_dump(mode="json")
        return json_reply(200, out, {"ETag": etag(found.version)})

    return await commands.respond(request.app.state.db, work)
