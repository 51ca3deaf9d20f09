"""The deployment log's route: drivers' full output and remote answers, redacted, for the
people who run and audit deployments (never in an event)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from deploy_svc.adapters import deployment_log
from deploy_svc.handlers import deployments
from ferry.auth import Principal, Role, allow
from ferry.http import problem_responses
from ferry.service import UoW

LogReader = Annotated[Principal, allow(Role.DEPLOYER, Role.RELEASE_MANAGER, Role.AUDITOR)]
PROBLEMS = problem_responses({404: "No such deployment"})
"""Its own; ferry.openapi adds the 401, 403, 422 and 503 every route shares."""


class LogEntry(BaseModel):
    entry: int
    """The entry's number: give the last one read as `after` for the next page."""
    target: str
    at: datetime
    step: str
    """install, verify or roll_back."""
    text: str
    """What the step said (a command's output, a remote answer), with secrets redacted."""


class LogPage(BaseModel):
    entries: list[LogEntry]
    next_after: int | None
    """`after` for the next page; null when this page is the last one so far."""


router = APIRouter(tags=["deployments"])


@router.get("/deployments/{deployment_id}/log", response_model=LogPage, responses=PROBLEMS)
async def read_log(
    deployment_id: UUID,
    uow: UoW,
    _: LogReader,
    after: Annotated[int, Query(ge=0, description="entries after this one")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> LogPage:
    """A deployment's log, oldest first: what each driver step had to say at length,
    redacted of the service's secrets and of credential-shaped strings."""
    async with uow:
        await deployments.get_deployment(uow, deployment_id)  # 404 if there is none
        rows = await deployment_log.page(uow, deployment_id, after, limit)
    entries = [LogEntry.model_validate(dict(row)) for row in rows]
    full = len(entries) == limit
    return LogPage(entries=entries, next_after=entries[-1].entry if full else None)
