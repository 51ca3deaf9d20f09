"""Routes of the deployment schedule: every release's windows with their conflicts, as JSON
pages and as an iCalendar feed."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response

from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.errors import Unprocessable
from ferry.http import problem_responses
from ferry.service import UoW
from release_svc.adapters import freeze_periods, schedule
from release_svc.api import ical
from release_svc.api.common import BAD_CURSOR
from release_svc.api.filters import Cursor, Limit, ScheduleQuery
from release_svc.api.schedule_feed import freeze_event, window_event
from release_svc.api.schemas.schedule import ScheduleEntryOut, SchedulePage

router = APIRouter(tags=["schedule"])
FEED_MOST = 5000
"""Windows in one calendar feed at most; more must be narrowed with `from` and `to`."""


@router.get("/schedule", response_model=SchedulePage, responses=BAD_CURSOR)
async def get_schedule(
    uow: UoW, _: Reader, filters: ScheduleQuery, limit: Limit = 50, cursor: Cursor = None
) -> SchedulePage:
    """Deployment windows in the order they open, a page at a time (follow `next`), each
    with its `conflicts`: overlapping windows changing a service in one environment, a
    window in a freeze in force (not overridden), a window before that of a release it
    depends on. Filters: windows overlapping `from` to `to`, `environment`, `service`,
    `owner` (release manager or owner), `status`, `team` (a team the release touches: the
    one it is planned for or one owning its services). Each window shows those `teams`."""
    async with uow:
        shown, next_cursor = await schedule.schedule_page(uow, filters, limit, cursor)
    return SchedulePage(items=[ScheduleEntryOut.of(s) for s in shown], next=next_cursor)


@router.get(
    "/schedule.ics",
    response_class=Response,
    responses={
        200: {"content": {"text/calendar": {}}, "description": "An RFC 5545 calendar"},
        **problem_responses({422: "Invalid field, or more windows match than one feed holds"}),
    },
)
async def get_schedule_calendar(uow: UoW, _: Reader, filters: ScheduleQuery) -> Response:
    """The schedule as an iCalendar feed: a VEVENT per window (its conflicts in the
    description) and per freeze in force (`CATEGORIES:FREEZE`), with the filters of
    `/schedule` (freezes by time, environment and service only). Calendar apps that cannot
    send a bearer token subscribe to a feed token's URL instead (`/schedule/feed-tokens`)."""
    async with uow:
        return await calendar(uow, filters)


async def calendar(uow: UnitOfWork, filters: schedule.Filters) -> Response:
    """The iCalendar response of the schedule `filters` select."""
    shown, more = await schedule.schedule_page(uow, filters, FEED_MOST, None)
    if more is not None:
        raise Unprocessable(
            f"from: more than {FEED_MOST} windows match; narrow the feed with from and to"
        )
    freezes = await freeze_periods.in_force(uow, filters.scope)
    events = [*(window_event(s) for s in shown), *(freeze_event(f) for f in freezes)]
    body = ical.calendar(events, name="Ferry release schedule", now=datetime.now(UTC))
    return Response(
        body,
        media_type=ical.MEDIA_TYPE,
        headers={"Content-Disposition": 'inline; filename="ferry-schedule.ics"'},
    )
