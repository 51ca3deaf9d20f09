"""Routes that move a release through its life: package, validation, approval, review."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Request, Response

from ferry.auth import Principal, Reader, Role, allow, allow_scoped
from ferry.db import UnitOfWork
from ferry.http import ExpectedVersion, problem_responses
from ferry.service import RequestMeta, UoW
from release_svc.adapters import known_media
from release_svc.adapters.views import PostgresViews
from release_svc.api.common import (
    NO_RELEASE,
    PROBLEMS,
    ReleaseManager,
    change_release,
    decide,
    managing,
)
from release_svc.api.schemas.lifecycle import (
    ApprovalIn,
    PackageIn,
    RejectionIn,
    ReviewIn,
    TeamAgreementIn,
    ValidationIn,
)
from release_svc.api.schemas.releases import ReleaseOut
from release_svc.api.schemas.reviews import ReviewDraftOut
from release_svc.domain.commands import (
    AgreeForTeam,
    Approve,
    BuildPackage,
    RecordValidation,
    Reject,
)
from release_svc.domain.release import Release
from release_svc.domain.review_draft import draft
from release_svc.handlers import releases as handlers
from release_svc.handlers import reviews

router = APIRouter(prefix="/releases/{release_id}", tags=["release lifecycle"])
Tester = Annotated[Principal, allow_scoped(Role.TESTER)]
ChangeAuthority = Annotated[Principal, allow(Role.CHANGE_AUTHORITY)]


@router.put("/package", response_model=ReleaseOut, responses=PROBLEMS)
async def build_package(
    release_id: UUID,
    package: PackageIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """The DML media the release consists of → `ReleasePackageBuilt`. Each must be media
    the DML announced, with the same sha256, and not revoked (422 naming it otherwise). A
    new package needs validating afresh. The caller is recorded as its builder."""
    media = package.to_media()
    cmd = BuildPackage(release_id=release_id, media=media, by=caller.subject)

    async def change(uow: UnitOfWork) -> Release:
        known = await known_media.known(uow, media)
        acting, views = managing(caller), PostgresViews(uow)
        return await handlers.build_package(cmd, version, uow, meta, known, acting, views)

    return await change_release(request, change)


@router.post("/validations", response_model=ReleaseOut, responses=PROBLEMS)
async def record_validation(
    release_id: UUID,
    result: ValidationIn,
    request: Request,
    caller: Tester,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """A tester's result of one kind of validation of the current package →
    `ValidationResultRecorded`, then `ReleaseValidated` once every kind the policy requires
    has passed, or `ReleaseValidationFailed` when a required kind fails."""
    cmd = RecordValidation(
        release_id=release_id,
        kind=result.kind,
        outcome=result.outcome,
        evidence=str(result.evidence),
        by=caller.subject,
    )

    async def validate(uow: UnitOfWork) -> Release:
        acting, views = caller.acting_as(Role.TESTER), PostgresViews(uow)
        return await handlers.record_validation(cmd, version, uow, meta, acting, views)

    return await change_release(request, validate)


@router.post("/team-agreements", response_model=ReleaseOut, responses=PROBLEMS)
async def agree_for_team(
    release_id: UUID,
    agreement: TeamAgreementIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """A release manager of a team owning some of the release's services agrees to its
    scope → `TeamAgreementGiven`. A release whose services several teams own is approved
    only once each has agreed; a new scope asks them again. Only a release manager held
    for that team may agree for it."""
    cmd = AgreeForTeam(
        release_id=release_id, team=agreement.team, comment=agreement.comment, by=caller.subject
    )
    return await change_release(
        request,
        lambda uow: handlers.agree_for_team(
            cmd, version, uow, meta, managing(caller), PostgresViews(uow)
        ),
    )


@router.post("/approvals", response_model=ReleaseOut, responses=PROBLEMS)
async def approve(
    release_id: UUID,
    approval: ApprovalIn,
    request: Request,
    caller: ChangeAuthority,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """A change authority approves the validated release under an RFC → `ApprovalGiven`, and
    `ReleaseApproved` once the policy's number of distinct approvers is reached. Unmet
    policy rules answer 422 naming each; segregation of duties 403 naming the rule."""
    cmd = Approve(
        release_id=release_id, rfc=approval.rfc, comment=approval.comment, by=caller.subject
    )
    return await change_release(
        request, lambda uow: handlers.approve(cmd, version, uow, PostgresViews(uow), meta)
    )


@router.post("/rejection", response_model=ReleaseOut, responses=PROBLEMS)
async def reject(
    release_id: UUID,
    rejection: RejectionIn,
    request: Request,
    caller: ChangeAuthority,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """A change authority rejects the release → `ReleaseRejected`; a new package may be
    submitted."""
    cmd = Reject(
        release_id=release_id, rfc=rejection.rfc, reason=rejection.reason, by=caller.subject
    )
    authority = caller.acting_as(Role.CHANGE_AUTHORITY)
    return await decide(request, release_id, version, meta, lambda r: r.reject(cmd), authority)


@router.post("/review", response_model=ReleaseOut, responses=PROBLEMS)
async def review(
    release_id: UUID,
    findings: ReviewIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """The post-implementation review, once Early Life Support has ended →
    `ReleaseReviewed` (the release is closed) and one `ImprovementActionRaised` per action,
    for Continual Improvement. What the findings leave out of what happened (deployment
    outcome, incidents, ELS duration) is taken from the record, as the draft shows it."""

    async def conduct(uow: UnitOfWork) -> Release:
        record = await reviews.record_of(uow, release_id)
        return await handlers.change(
            uow,
            release_id,
            version,
            meta,
            lambda r: r.conduct_review(findings.review(r.id, draft(r, record), caller.subject)),
            managing(caller),
            PostgresViews(uow),
        )

    return await change_release(request, conduct)


@router.get("/review/draft", response_model=ReviewDraftOut, responses=problem_responses(NO_RELEASE))
async def review_draft(release_id: UUID, uow: UoW, _: Reader) -> ReviewDraftOut:
    """The review as the record tells it so far: deployments and how they ended, Early Life
    Support's incidents, escalations, duration and feedback, planned dates against actual
    ones. `POST /releases/{id}/review` takes from it what its findings leave out."""
    async with uow:
        release = await handlers.get_release(uow, release_id)
        record = await reviews.record_of(uow, release_id)
    return ReviewDraftOut.of(draft(release, record))
