"""Query parameters the freezes list, the schedule and its calendar feed share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from ferry.events.team import TEAM_NAME_PATTERN
from release_svc.adapters import schedule
from release_svc.adapters.queries import Scope
from release_svc.api.schemas.common import Instant
from release_svc.domain.lifecycle import Status

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=400, description="`next` of a page")]
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


async def scope(
    from_: Annotated[
        Instant | None,
        Query(
            alias="from",
            description="only what is still on after this moment, e.g. 2026-12-01T00:00:00Z",
        ),
    ] = None,
    to: Annotated[Instant | None, Query(description="only what begins before this moment")] = None,
    environment: Text = None,
    service: Text = None,
) -> Scope:
    """When and where, from the query."""
    return Scope(ends_after=from_, starts_before=to, environment=environment, service=service)


ScopeQuery = Annotated[Scope, Depends(scope)]


async def schedule_filters(
    where: ScopeQuery,
    owner: Annotated[
        str | None, Query(min_length=1, max_length=200, description="a manager or owner")
    ] = None,
    status: Status | None = None,
    team: Annotated[
        str | None,
        Query(pattern=TEAM_NAME_PATTERN, description="a team the release touches"),
    ] = None,
) -> schedule.Filters:
    return schedule.Filters(where, owner, status, team)


ScheduleQuery = Annotated[schedule.Filters, Depends(schedule_filters)]
