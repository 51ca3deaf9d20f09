"""Routes for the parts of a release's plan: scope, windows, communication, risk, backout.

Each replaces its part whole, requires `If-Match`, and is open to the release's manager
and owners while the release is not yet deployed.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request, Response

from ferry.db import UnitOfWork
from ferry.events.release import ScopeItem
from ferry.http import ExpectedVersion
from ferry.service import RequestMeta
from release_svc.adapters import freeze_periods, schedule
from release_svc.adapters.views import PostgresViews
from release_svc.api.common import PROBLEMS, ReleaseManager, change_release, decide, managing
from release_svc.api.schemas.planning import (
    BackoutPlanIn,
    CommunicationPlanIn,
    RiskIn,
    ScopeIn,
    WindowsIn,
)
from release_svc.api.schemas.releases import ReleaseOut
from release_svc.domain.commands import (
    AssessRisk,
    PlannedCommunication,
    SetBackoutPlan,
    SetCommunicationPlan,
    SetScope,
    SetWindows,
)
from release_svc.domain.release import Release
from release_svc.handlers import releases as handlers

router = APIRouter(prefix="/releases/{release_id}", tags=["release plan"])


@router.put("/scope", response_model=ReleaseOut, responses=PROBLEMS)
async def set_scope(
    release_id: UUID,
    scope: ScopeIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """The services, applications, components, documentation, training and process items
    the release includes → `ReleaseScopeSet`; until approval (`409` after), like the
    package."""
    items = [ScopeItem(**item.model_dump()) for item in scope.items]
    cmd = SetScope(release_id=release_id, items=items, by=caller.subject)
    return await change_release(
        request,
        lambda uow: handlers.set_scope(
            cmd, version, uow, meta, managing(caller), PostgresViews(uow)
        ),
    )


@router.put("/windows", response_model=ReleaseOut, responses=PROBLEMS)
async def set_windows(
    release_id: UUID,
    windows: WindowsIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Deployment windows per environment → `DeploymentWindowsSet`. Refused (422) when a
    window starts before a window of a release this one depends on, in the same
    environment, or falls in a freeze — unless an emergency release gives
    `freeze_override`, which is recorded."""
    cmd = SetWindows(
        release_id=release_id,
        windows=windows.to_windows(),
        freeze_override=windows.freeze_override,
        by=caller.subject,
    )

    async def change(uow: UnitOfWork) -> Release:
        release = await handlers.get_release(uow, release_id)
        freezes = await freeze_periods.in_force(uow)
        theirs = await schedule.windows_of(uow, release.depends_on)
        acting, views = managing(caller), PostgresViews(uow)
        return await handlers.set_windows(cmd, version, uow, meta, freezes, theirs, acting, views)

    return await change_release(request, change)


@router.put("/communication-plan", response_model=ReleaseOut, responses=PROBLEMS)
async def set_communication_plan(
    release_id: UUID,
    plan: CommunicationPlanIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Who is told what, when, relative to a milestone → `CommunicationPlanSet`; each entry
    is announced by `CommunicationDue` when it falls due."""
    entries = [PlannedCommunication(**entry.model_dump()) for entry in plan.entries]
    cmd = SetCommunicationPlan(release_id=release_id, entries=entries, by=caller.subject)
    return await decide(
        request,
        release_id,
        version,
        meta,
        lambda r: r.set_communication_plan(cmd),
        managing(caller),
    )


@router.put("/risk", response_model=ReleaseOut, responses=PROBLEMS)
async def assess_risk(
    release_id: UUID,
    risk: RiskIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """The risk and impact assessment → `RiskAssessed`; the risk level is likelihood by
    impact, and a high one needs the policy's `high_risk_approvers`."""
    cmd = AssessRisk(release_id=release_id, by=caller.subject, **risk.model_dump())
    return await decide(
        request,
        release_id,
        version,
        meta,
        lambda r: r.assess_risk(cmd),
        managing(caller),
    )


@router.put("/backout-plan", response_model=ReleaseOut, responses=PROBLEMS)
async def set_backout_plan(
    release_id: UUID,
    plan: BackoutPlanIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """When to roll back and the ordered steps to take → `BackoutPlanSet`: deploy-svc runs
    the typed steps (the driver's `rollback`, a `webhook`, a `manual` step it waits to be
    confirmed) when a trigger fires (a failed verification, an Early Life Support metric's
    escalation); plain text is a manual step or a judgement."""
    triggers, steps = plan.typed()
    cmd = SetBackoutPlan(release_id, triggers, steps, by=caller.subject)
    return await decide(
        request,
        release_id,
        version,
        meta,
        lambda r: r.set_backout_plan(cmd),
        managing(caller),
    )
