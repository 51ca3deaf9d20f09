"""Routes of environments and deployments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, Path, Query, Request, Response

from deploy_svc.adapters.views import PostgresViews
from deploy_svc.api.dependencies import Drivers
from deploy_svc.api.schemas import (
    DeploymentIn,
    DeploymentOut,
    DeploymentSummary,
    EnvironmentIn,
    EnvironmentOut,
    NoteIn,
    ReasonIn,
    UnauthorisedChangeOut,
)
from deploy_svc.domain.deployment import PlanDeployment, State
from deploy_svc.handlers import deployments, environments
from deploy_svc.projections import deployments as deployment_list
from deploy_svc.projections import environments as environment_list
from deploy_svc.projections import targets
from ferry import commands, proposals, team_table
from ferry.auth import Principal, Reader, Role, allow, allow_scoped
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.events.deploy import TargetSpec
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.fields import Moment
from ferry.governance import Change
from ferry.grants import Acting
from ferry.http import ExpectedVersion, VersionIfAny, etag, problem_responses, saved
from ferry.idempotency import IdempotencyKey, Reply
from ferry.proposals_api import ProposalOut, proposed
from ferry.service import RequestMeta, UoW
from ferry.teams import Owned

DEPLOYERS = (Role.DEPLOYER, Role.RELEASE_MANAGER)
Deployer = Annotated[Principal, allow_scoped(*DEPLOYERS)]
"""Who deploys: everywhere, or (checked by the handler) where their team owns the environment."""
Planner = Annotated[Principal, allow_scoped(*DEPLOYERS, Role.TESTER)]
"""Who plans a deployment: a deployer; a tester too, to a development or test environment
(checked by the handler, which knows the environment's class)."""
ChangeAuthority = Annotated[Principal, allow(Role.CHANGE_AUTHORITY)]
"""Held everywhere or not at all: approval is shared by every team."""
# Each route's own problems; ferry.openapi adds those every route shares (401, 403, 422,
# 503, and 400, 409, 428 where a body or `If-Match` is taken).
NO_DEPLOYMENT = {404: "No such deployment"}
DEFINE_PROBLEMS = problem_responses(
    {
        409: "The environment changed since it was read (re-read it)",
        428: "If-Match missing: the environment exists already",
    }
)
PLAN_PROBLEMS = problem_responses(
    {
        403: "The caller's roles do not allow this, or a rule names why not",
        409: "The release, a freeze, its dependencies or the targets do not allow it now",
        422: "Invalid field, or no window for the environment at that time; `errors` names each",
    }
)
ACT_PROBLEMS = problem_responses(
    {**NO_DEPLOYMENT, 409: "Its state does not allow it, or the version read is stale"}
)


router = APIRouter(tags=["deployments"])


@router.put(
    "/environments/{name}",
    response_model=EnvironmentOut,
    responses={**DEFINE_PROBLEMS, 202: {"model": ProposalOut, "description": "Proposed"}},
)
async def define_environment(
    name: str,
    body: EnvironmentIn,
    request: Request,
    caller: Deployer,
    meta: RequestMeta,
    drivers: Drivers,
    version: VersionIfAny,
) -> Response:
    """Define an environment, its class and its targets, each with a driver and its
    settings (`EnvironmentDefined`); redefining one needs `If-Match`. Defining or redefining
    a production environment, and changing any environment's class, is a governance
    proposal: `202` with it (`Location: /proposals/{id}`, a `reason` required), recorded
    once another person holding `change-authority` approves."""
    targets = [TargetSpec(**t.model_dump()) for t in body.targets]
    checks = {name: driver.check for name, driver in drivers.items()}
    acting = caller.acting_as(*DEPLOYERS)

    async def work(uow: UnitOfWork) -> Reply:
        found = await environments.define_environment(
            uow, name, body.classified, targets, checks, version, meta, acting, body.reason
        )
        if isinstance(found, Change):
            return proposed(await proposals.propose(uow, uuid4(), found, meta))
        return saved(EnvironmentOut.of(found), found.version)

    return await commands.respond(request.app.state.db, work)


@router.get("/environments", response_model=list[EnvironmentOut])
async def list_environments(uow: UoW, _: Reader) -> list[EnvironmentOut]:
    async with uow:
        rows = await environment_list.all_(uow)
    return [
        EnvironmentOut(
            name=r["name"],
            environment_class=r["environment_class"],
            production=r["production"],
            targets=r["targets"],
            stream_version=r["stream_version"],
        )
        for r in rows
    ]


@router.get(
    "/environments/{name}",
    response_model=EnvironmentOut,
    responses=problem_responses({404: "No such environment"}),
)
async def get_environment(name: str, uow: UoW, response: Response, _: Reader) -> EnvironmentOut:
    async with uow:
        found = await environments.get_environment(uow, name)
    response.headers["ETag"] = etag(found.version)
    return EnvironmentOut.of(found)


@router.post("/deployments", status_code=201, response_model=DeploymentOut, responses=PLAN_PROBLEMS)
async def plan_deployment(
    body: DeploymentIn,
    request: Request,
    caller: Planner,
    meta: RequestMeta,
    key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> Response:
    """Plan a deployment → `DeploymentScheduled`, if the release may go there as the
    environment's class has it — development and test: its package is built (its staged
    media; testers may plan these); staging and production: the DML made it available and
    the start lies in its window for the environment — it is not revoked or cancelled, no
    freeze holds, the releases it depends on are deployed there, and no other deployment
    holds the targets; each refusal names its reason. It starts at `scheduled_start`. In a
    test environment, `validation` names the kind of validation its verification records
    for the package."""
    cmd = PlanDeployment(
        deployment_id=uuid4(),
        release_id=body.release_id,
        environment=body.environment,
        targets=body.targets,
        strategy=body.strategy.kind,
        sizes=body.strategy.sizes,
        percentages=body.strategy.percentages,
        canary=body.strategy.canary,
        soak_seconds=body.strategy.soak_seconds,
        start=body.scheduled_start or datetime.now(UTC),
        by=caller.subject,
        validation=body.validation,
    )

    async def work(uow: UnitOfWork) -> Reply:
        acting = caller.acting_as(*DEPLOYERS, Role.TESTER)
        found = await deployments.plan_deployment(uow, PostgresViews(uow), cmd, meta, acting)
        out = DeploymentOut.of(found)
        return saved(out, found.version, status=201, location=f"/deployments/{found.id}")

    scope = f"POST /deployments {caller.subject}"
    idempotency = IdempotencyKey.of(scope, key, await request.body()) if key else None
    return await commands.respond(request.app.state.db, work, idempotency)


@router.get("/deployments", response_model=list[DeploymentSummary])
async def list_deployments(
    uow: UoW,
    caller: Reader,
    release_id: UUID | None = None,
    environment: Annotated[str | None, Query(max_length=63)] = None,
    team: Annotated[str | None, Query(pattern=TEAM_NAME_PATTERN)] = None,
    state: State | None = None,
    before: Annotated[
        Moment | None, Query(description="only those scheduled before (next page)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeploymentSummary]:
    """Deployments, newest first; page with `before` = the last one's `scheduled_start`.
    `team`: only to its environments; a caller whose roles are all held for teams sees
    only its teams' unless it names another."""
    teams = caller.listed_teams(team)
    async with uow:
        environments = (
            None if teams is None else await team_table.owned(uow, teams, Owned.ENVIRONMENT)
        )
        filters = deployment_list.Filters(release_id, environment, state, environments)
        rows = await deployment_list.page(uow, filters, limit, before)
    return [DeploymentSummary.model_validate(dict(r)) for r in rows]


@router.get(
    "/deployments/{deployment_id}",
    response_model=DeploymentOut,
    responses=problem_responses(NO_DEPLOYMENT),
)
async def get_deployment(
    deployment_id: UUID, uow: UoW, response: Response, _: Reader
) -> DeploymentOut:
    """A deployment with its waves' progress."""
    async with uow:
        found = await deployments.get_deployment(uow, deployment_id)
    response.headers["ETag"] = etag(found.version)
    return DeploymentOut.of(found)


async def _act(
    request: Request,
    deployment_id: UUID,
    version: int,
    meta: Meta,
    decide: deployments.Decision,
    acting: Acting,
) -> Response:
    async def work(uow: UnitOfWork) -> Reply:
        found = await deployments.change(
            uow, PostgresViews(uow), deployment_id, version, meta, decide, acting
        )
        return saved(DeploymentOut.of(found), found.version)

    return await commands.respond(request.app.state.db, work)


@router.post(
    "/deployments/{deployment_id}/pause", response_model=DeploymentOut, responses=ACT_PROBLEMS
)
async def pause(
    deployment_id: UUID,
    request: Request,
    caller: Deployer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Stop after the step under way (`DeploymentPaused`)."""
    decide = lambda d: d.pause(caller.subject)  # noqa: E731
    return await _act(request, deployment_id, version, meta, decide, caller.acting_as(*DEPLOYERS))


@router.post(
    "/deployments/{deployment_id}/resume", response_model=DeploymentOut, responses=ACT_PROBLEMS
)
async def resume(
    deployment_id: UUID,
    request: Request,
    caller: Deployer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Go on from where it was paused (`DeploymentResumed`). One paused outside its window
    goes on by itself in a new window, or with a change authority's override (`409`)."""
    decide = lambda d: d.resume(caller.subject)  # noqa: E731
    return await _act(request, deployment_id, version, meta, decide, caller.acting_as(*DEPLOYERS))


@router.post(
    "/deployments/{deployment_id}/window-override",
    response_model=DeploymentOut,
    responses=ACT_PROBLEMS,
)
async def override_window(
    deployment_id: UUID,
    body: ReasonIn,
    request: Request,
    caller: ChangeAuthority,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Let a deployment paused outside its window go on, to its end, with the reason
    (`DeploymentWindowOverridden`): a change authority, not the person who asked for the
    deployment (`403`, rule `window-override-by-another`)."""
    decide = lambda d: d.override_window(caller.subject, body.reason)  # noqa: E731
    acting = caller.acting_as(Role.CHANGE_AUTHORITY)
    return await _act(request, deployment_id, version, meta, decide, acting)


@router.post(
    "/deployments/{deployment_id}/abort", response_model=DeploymentOut, responses=ACT_PROBLEMS
)
async def abort(
    deployment_id: UUID,
    body: ReasonIn,
    request: Request,
    caller: Deployer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Stop for good where it is, without rolling back (`DeploymentAborted`)."""
    decide = lambda d: d.abort(caller.subject, body.reason)  # noqa: E731
    return await _act(request, deployment_id, version, meta, decide, caller.acting_as(*DEPLOYERS))


@router.post(
    "/deployments/{deployment_id}/rollback", response_model=DeploymentOut, responses=ACT_PROBLEMS
)
async def rollback(
    deployment_id: UUID,
    body: ReasonIn,
    request: Request,
    caller: Deployer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Follow the release's backout plan (`RollbackStarted`, each step's events, then
    `DeploymentRolledBack`): the driver switches every switched target back to its version
    before, webhooks are called, manual steps wait to be confirmed."""
    acting = caller.acting_as(*DEPLOYERS)

    async def work(uow: UnitOfWork) -> Reply:
        found = await deployments.roll_back(
            uow,
            PostgresViews(uow),
            deployment_id,
            version,
            meta,
            acting,
            caller.subject,
            body.reason,
        )
        return saved(DeploymentOut.of(found), found.version)

    return await commands.respond(request.app.state.db, work)


@router.post(
    "/deployments/{deployment_id}/backout/{step}/confirm",
    response_model=DeploymentOut,
    responses=ACT_PROBLEMS,
)
async def confirm_backout_step(
    deployment_id: UUID,
    step: Annotated[int, Path(ge=0, le=1000)],
    body: NoteIn,
    request: Request,
    caller: Deployer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Say that the backout step waiting for it (`awaiting_step`: a manual step, or a
    webhook step that failed) was done (`BackoutStepDone` with the caller and `note`); the
    backout goes on. `409` unless that step waits."""
    decide = lambda d: d.confirm_step(step, caller.subject, body.note)  # noqa: E731
    return await _act(request, deployment_id, version, meta, decide, caller.acting_as(*DEPLOYERS))


@router.get("/unauthorised-changes", response_model=list[UnauthorisedChangeOut])
async def unauthorised_changes(
    uow: UoW,
    _: Reader,
    environment: Annotated[str | None, Query(max_length=63)] = None,
    open_only: Annotated[
        bool, Query(alias="open", description="only those not cleared yet")
    ] = False,
    before: Annotated[
        Moment | None, Query(description="only those detected before (next page)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[UnauthorisedChangeOut]:
    """Targets found running what Ferry did not deploy there (`UnauthorisedChangeDetected`,
    by the drift check every `FERRY_DEPLOY_DRIFT_SECONDS`), newest first; page with
    `before` = the last one's `detected_at`."""
    async with uow:
        rows = await targets.changes(uow, environment, open_only, limit, before)
    return [UnauthorisedChangeOut.model_validate(dict(r)) for r in rows]
