"""Routes: request → command → handler → reply. Errors become problems in `ferry.http`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Header, Path, Query, Request, Response

from ferry import commands
from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.errors import NotFound
from ferry.events.release import ReleaseType
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.fields import Day
from ferry.http import ExpectedVersion, etag, json_page, problem_responses, saved
from ferry.idempotency import IdempotencyKey, Reply
from ferry.service import RequestMeta, UoW
from release_svc.adapters import dependency_graph, release_list, release_numbers, schedule
from release_svc.adapters.views import PostgresViews
from release_svc.api.common import (
    BAD_CURSOR,
    NO_RELEASE,
    PROBLEMS,
    UNMET,
    ReleaseManager,
    change_release,
    decide,
    managing,
)
from release_svc.api.schemas.common import spans
from release_svc.api.schemas.releases import (
    CancellationIn,
    DependenciesIn,
    ReleaseOut,
    ReleasePage,
    ReleasePlanIn,
    ScheduleIn,
)
from release_svc.domain.commands import (
    CancelRelease,
    PlanRelease,
    RescheduleRelease,
    SetDependencies,
)
from release_svc.domain.lifecycle import Status
from release_svc.domain.release import Release
from release_svc.handlers import releases as handlers
from release_svc.projections import releases as projections

router = APIRouter(prefix="/releases", tags=["releases"])
IDENTIFIER_OR_UUID = (
    r"^(?i:REL-\d{4}-\d{4,}|[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12})$"
)
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Retry-safe creation: the same key and body always get the first reply.",
    ),
]


@router.post("", status_code=201, response_model=ReleaseOut, responses=problem_responses(UNMET))
async def plan_release(
    plan: ReleasePlanIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    key: IdempotencyKeyHeader = None,
) -> Response:
    """Plan a release → `ReleasePlanned`; the caller becomes its release manager, and the
    release gets its identifier, `REL-<year>-<number>`."""

    async def work(uow: UnitOfWork) -> Reply:
        identifier = await release_numbers.next_identifier(uow, datetime.now(UTC).year)
        team = await handlers.planned_for(plan.team, managing(caller), PostgresViews(uow))
        cmd = PlanRelease(
            release_id=uuid4(),
            team=team,
            release_manager=caller.subject,
            identifier=identifier,
            owners=frozenset(plan.owners),
            activities=spans(plan.activities),
            **plan.model_dump(exclude={"owners", "activities", "team"}),
        )
        release = await handlers.plan_release(cmd, uow, meta)
        await projections.save(uow, release)
        out = ReleaseOut.of(release)
        return saved(out, release.version, status=201, location=f"/releases/{release.id}")

    # Scoped to the caller: one client's key never replays another's reply.
    scope = f"POST /releases {caller.subject}"
    idempotency = IdempotencyKey.of(scope, key, await request.body()) if key else None
    return await commands.respond(request.app.state.db, work, idempotency)


@router.put("/{release_id}/schedule", response_model=ReleaseOut, responses=PROBLEMS)
async def reschedule_release(
    release_id: UUID,
    schedule: ScheduleIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Move a release's planned dates → `ReleaseRescheduled`. Requires `If-Match`; only the
    release's manager or owners may."""
    cmd = RescheduleRelease(
        release_id=release_id,
        planned_start=schedule.planned_start,
        planned_end=schedule.planned_end,
        reason=schedule.reason,
        activities=spans(schedule.activities),
        by=caller.subject,
    )
    return await decide(
        request,
        release_id,
        version,
        meta,
        lambda r: r.reschedule(cmd),
        managing(caller),
    )


@router.post("/{release_id}/cancel", response_model=ReleaseOut, responses=PROBLEMS)
async def cancel_release(
    release_id: UUID,
    cancellation: CancellationIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Call a release off before it is deployed → `ReleaseCancelled`. Requires `If-Match`;
    only the release's manager or owners may."""
    cmd = CancelRelease(release_id=release_id, reason=cancellation.reason, by=caller.subject)
    return await decide(
        request,
        release_id,
        version,
        meta,
        lambda r: r.cancel(cmd),
        managing(caller),
    )


@router.put("/{release_id}/dependencies", response_model=ReleaseOut, responses=PROBLEMS)
async def set_dependencies(
    release_id: UUID,
    dependencies: DependenciesIn,
    request: Request,
    caller: ReleaseManager,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Set the releases this one depends on → `ReleaseDependenciesSet`. Unknown releases and
    cycles are refused (422 naming the cycle). Requires `If-Match`; the release's manager or
    owners."""
    depends_on = frozenset(dependencies.depends_on)
    cmd = SetDependencies(release_id=release_id, depends_on=depends_on, by=caller.subject)

    async def change(uow: UnitOfWork) -> Release:
        await dependency_graph.hold(uow)
        graph, names = await dependency_graph.load(uow)
        theirs = await schedule.windows_of(uow, depends_on)
        acting, views = managing(caller), PostgresViews(uow)
        release = await handlers.set_dependencies(
            cmd, version, uow, meta, graph, names, theirs, acting, views
        )
        await projections.save_dependencies(uow, release)
        return release

    return await change_release(request, change)


@router.get("", response_model=ReleasePage, responses=BAD_CURSOR)
async def list_releases(
    uow: UoW,
    caller: Reader,
    status: Status | None = None,
    release_type: ReleaseType | None = None,
    release_manager: Annotated[str | None, Query(max_length=200)] = None,
    planned_from: Annotated[
        Day | None, Query(description="only releases still planned on or after this day")
    ] = None,
    planned_to: Annotated[
        Day | None, Query(description="only releases starting on or before this day")
    ] = None,
    name: Annotated[str | None, Query(max_length=200, description="part of the name")] = None,
    team: Annotated[
        str | None,
        Query(
            pattern=TEAM_NAME_PATTERN,
            description="only releases planned for this team or changing its services; by "
            "default the caller's teams' when all its roles are held for teams",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next` of a page")] = None,
) -> Response:
    """Releases in planned order, filtered, a page at a time (follow `next`); each with the
    `teams` it touches."""
    filters = release_list.Filters(
        status=status,
        release_type=release_type,
        release_manager=release_manager,
        planned_from=planned_from,
        planned_to=planned_to,
        name=name,
        teams=caller.listed_teams(team),
    )
    async with uow:
        items, next_cursor = await release_list.page(uow, filters, limit, cursor)
    return json_page(items, next_cursor)


@router.get("/{release_ref}", response_model=ReleaseOut, responses=problem_responses(NO_RELEASE))
async def get_release(
    release_ref: Annotated[
        str,
        Path(
            pattern=IDENTIFIER_OR_UUID,
            description="the release's id or its identifier, e.g. REL-2026-0042",
        ),
    ],
    uow: UoW,
    response: Response,
    _: Reader,
) -> ReleaseOut:
    """One release, by id or identifier; its `ETag` is the version to send in `If-Match`."""
    async with uow:
        if release_ref.upper().startswith("REL-"):
            release_id = await release_list.release_id_of(uow, release_ref.upper())
            if release_id is None:
                raise NotFound(f"no release {release_ref}")
        else:
            release_id = UUID(release_ref)
        release = await handlers.get_release(uow, release_id)
    response.headers["ETag"] = etag(release.version)
    return ReleaseOut.of(release)
