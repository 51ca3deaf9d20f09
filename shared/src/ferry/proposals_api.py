"""Routes of governance proposals, the same in every service that governs something:
list, read, approve (change authorities other than the proposer) and reject."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ferry import commands, proposals
from ferry.auth import Principal, Reader, Role, allow
from ferry.db import UnitOfWork
from ferry.events.governance import GovernedKind
from ferry.governance import Proposal, ProposalState
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.service import RequestMeta, UoW

router = APIRouter(prefix="/proposals", tags=["governance"])

# Each route's own problems; ferry.openapi adds those every route shares (401, 403, 422,
# 503, and 400, 409, 428 where a body or `If-Match` is taken).
NO_PROPOSAL = {404: "No such proposal"}
PROBLEMS = problem_responses(
    {
        403: "The caller's roles do not allow this, or the caller proposed it (two-person rule)",
        **NO_PROPOSAL,
        409: "Decided already, changed since read, or what it changes changed since proposed",
    }
)
"""A decision on a proposal: it takes `If-Match`."""

Deciders = (Role.CHANGE_AUTHORITY, Role.RELEASE_MANAGER, Role.DEPLOYER, Role.FERRY_ADMIN)
"""Who may reject: change authorities, and proposers (who propose with these roles)."""


class ProposalOut(BaseModel):
    """A proposed change to the rules and what became of it."""

    model_config = ConfigDict(frozen=True)

    id: UUID
    kind: GovernedKind
    subject: str
    """The governed stream, e.g. `release-policy-major`, `freeze-<id>`, `environment-prod`."""
    subject_version: int
    effect: dict[str, Any]
    """The event recorded on `subject` once approved, exactly as it will be."""
    reason: str
    state: ProposalState
    proposed_by: str
    decided_by: str | None
    decision_reason: str | None
    version: int
    """The proposal's own version: its `ETag`, for `If-Match` when deciding."""

    @classmethod
    def of(cls, proposal: Proposal) -> ProposalOut:
        change = proposal.change
        assert change is not None
        return cls(
            id=proposal.id,
            kind=change.kind,
            subject=change.subject,
            subject_version=change.subject_version,
            effect=change.effect.model_dump(mode="json"),
            reason=change.reason,
            state=proposal.state,
            proposed_by=proposal.proposed_by,
            decided_by=proposal.decided_by,
            decision_reason=proposal.decision_reason,
            version=proposal.version,
        )


class ProposalPage(BaseModel):
    items: list[ProposalOut]
    next: str | None = Field(None, description="the `cursor` of the next page, if any")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000)


def proposed(proposal: Proposal) -> Reply:
    """The reply to a command that proposed a change instead of making it: `202`."""
    out, location = ProposalOut.of(proposal), f"/proposals/{proposal.id}"
    return saved(out, proposal.version, status=202, location=location)


async def _enactors(request: Request) -> proposals.Enactors:
    found: proposals.Enactors = request.app.state.enactors
    return found


Enactors = Annotated[proposals.Enactors, Depends(_enactors)]


@router.get("", response_model=ProposalPage)
async def list_proposals(
    uow: UoW,
    _: Reader,
    state: ProposalState | None = None,
    kind: GovernedKind | None = None,
    subject: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
) -> ProposalPage:
    """Proposals, newest first, a page at a time (follow `next`); `state=pending` for
    those awaiting a change authority."""
    filters = proposals.Filters(state, kind, subject)
    async with uow:
        found, after = await proposals.list_page(
            uow, filters, limit, int(cursor) if cursor else None
        )
    return ProposalPage(
        items=[ProposalOut.of(p) for p in found], next=None if after is None else str(after)
    )


@router.get("/{proposal_id}", response_model=ProposalOut, responses=problem_responses(NO_PROPOSAL))
async def get_proposal(proposal_id: UUID, uow: UoW, response: Response, _: Reader) -> ProposalOut:
    """One proposal; its `ETag` goes in `If-Match` to approve or reject it."""
    async with uow:
        found = await proposals.get(uow, proposal_id)
    response.headers["ETag"] = etag(found.version)
    return ProposalOut.of(found)


@router.post("/{proposal_id}/approve", response_model=ProposalOut, responses=PROBLEMS)
async def approve_proposal(
    proposal_id: UUID,
    request: Request,
    _: Annotated[Principal, allow(Role.CHANGE_AUTHORITY)],
    meta: RequestMeta,
    version: ExpectedVersion,
    enactors: Enactors,
) -> Response:
    """Approve → `GovernanceChangeApproved`, and the change itself (the proposal's `effect`)
    recorded in the same transaction. A change authority other than the proposer (two-person
    rule, `403`); `409` if what it changes changed since it was proposed."""

    async def work(uow: UnitOfWork) -> Reply:
        found = await proposals.approve(uow, proposal_id, version, enactors, meta)
        return _reply(found)

    return await commands.respond(request.app.state.db, work)


@router.post("/{proposal_id}/reject", response_model=ProposalOut, responses=PROBLEMS)
async def reject_proposal(
    proposal_id: UUID,
    body: RejectIn,
    request: Request,
    caller: Annotated[Principal, allow(*Deciders)],
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Reject → `GovernanceChangeRejected`: by a change authority, or withdrawn by its
    proposer. Nothing changes."""
    authority = Role.CHANGE_AUTHORITY in caller.roles

    async def work(uow: UnitOfWork) -> Reply:
        found = await proposals.reject(
            uow, proposal_id, version, body.reason, meta, change_authority=authority
        )
        return _reply(found)

    return await commands.respond(request.app.state.db, work)


def _reply(proposal: Proposal) -> Reply:
    return saved(ProposalOut.of(proposal), proposal.version)
