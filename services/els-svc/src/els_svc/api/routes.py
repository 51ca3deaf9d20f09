"""Routes of Early Life Support cases."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Request, Response

from els_svc.api.schemas import (
    AgreementIn,
    CaseOut,
    ExitIn,
    FeedbackIn,
    IncidentIn,
    MetricReport,
    ObservationIn,
    PeriodOut,
    ProposalIn,
    ReportOut,
    Side,
    TaskIn,
)
from els_svc.domain.case import ElsCase
from els_svc.handlers import cases as handlers
from els_svc.projections import cases
from ferry import commands, team_table
from ferry.auth import Principal, Reader, Role, allow_scoped
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, Forbidden
from ferry.events.els import ElsEvent
from ferry.events.team import TEAM_NAME_PATTERN
from ferry.grants import Acting
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import Reply
from ferry.service import RequestMeta, UoW
from ferry.teams import Owned

router = APIRouter(prefix="/cases", tags=["early life support"])
RETRIES = 5
SIDES = {
    "deployment": frozenset({Role.DEPLOYER, Role.RELEASE_MANAGER}),
    "operations": frozenset({Role.OPERATIONS}),
}
NEGOTIATORS = (Role.DEPLOYER, Role.RELEASE_MANAGER, Role.OPERATIONS)
SUPPORTERS = (Role.ELS_SUPPORT, Role.OPERATIONS, Role.DEPLOYER)
# Each held everywhere, or for a team owning the case's environment or a service of it.
Negotiator = Annotated[Principal, allow_scoped(*NEGOTIATORS)]
Supporter = Annotated[Principal, allow_scoped(*SUPPORTERS)]
Operations = Annotated[Principal, allow_scoped(Role.OPERATIONS)]
Anyone = Annotated[Principal, allow_scoped(*Role)]
PROBLEMS = problem_responses(
    {
        401: "No valid bearer token",
        403: "The caller's roles do not allow this, or the same side would agree",
        404: "No such case",
        409: "The case's state or a newer version does not allow it",
        422: "Invalid field; `errors` names each",
        428: "If-Match missing",
    }
)


def _side(caller: Principal, side: Side) -> Side:
    if not caller.has_any_for_some_team(SIDES[side]):
        raise Forbidden(f"speaking for {side} needs one of: {', '.join(sorted(SIDES[side]))}")
    return side


async def _change(
    request: Request,
    case_id: UUID,
    version: int | None,
    meta: Meta,
    decide: handlers.Decision,
    acting: Acting | None,
) -> Response:
    async def work(uow: UnitOfWork) -> Reply:
        case = await handlers.change(uow, case_id, version, meta, decide, acting)
        return saved(CaseOut.of(case), case.version)

    if version is not None:
        return await commands.respond(request.app.state.db, work)
    # A fact added without If-Match (an observation, an incident, feedback) holds whatever
    # else changed the case meanwhile (a signal, the evaluator): it is simply tried again.
    for _ in range(RETRIES - 1):
        with contextlib.suppress(ConcurrencyError):
            return await commands.respond(request.app.state.db, work)
    return await commands.respond(request.app.state.db, work)


@router.get("", response_model=list[CaseOut], responses=PROBLEMS)
async def list_cases(
    uow: UoW,
    caller: Reader,
    release_id: UUID | None = None,
    state: Annotated[str | None, Query(pattern="^(open|normal|exited)$")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    team: Annotated[str | None, Query(pattern=TEAM_NAME_PATTERN)] = None,
) -> list[CaseOut]:
    """Cases, newest first. `team`: only those of its environments or services; a caller
    whose roles are all held for teams sees only its teams' unless it names another."""
    teams = caller.listed_teams(team)
    async with uow:
        owned = None
        if teams is not None:
            environments = await team_table.owned(uow, teams, Owned.ENVIRONMENT)
            owned = (environments, await team_table.owned(uow, teams, Owned.SERVICE))
        rows = await cases.page(uow, release_id, state, limit, owned)
        found = [await handlers.get_case(uow, row["case_id"]) for row in rows]
    return [CaseOut.of(case) for case in found]


@router.get("/{case_id}", response_model=CaseOut, responses=PROBLEMS)
async def get_case(case_id: UUID, uow: UoW, response: Response, _: Reader) -> CaseOut:
    async with uow:
        case = await handlers.get_case(uow, case_id)
    response.headers["ETag"] = etag(case.version)
    return CaseOut.of(case)


@router.post("/{case_id}/criteria", response_model=CaseOut, responses=PROBLEMS)
async def propose(
    case_id: UUID,
    body: ProposalIn,
    request: Request,
    caller: Negotiator,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Propose what "normal" is, for one `side` (`ElsCriteriaProposed`); the other side's
    agreement makes it the case's criteria. Requires `If-Match`."""
    side = _side(caller, body.side)
    proposed = [c.model_dump() for c in body.criteria]

    async def work(uow: UnitOfWork) -> Reply:
        case = await handlers.get_case(uow, case_id)
        criteria = await handlers.with_baselines(uow, case, proposed)
        decide: handlers.Decision = lambda c: c.propose(criteria, caller.subject, side)  # noqa: E731
        acting = caller.acting_as(*SIDES[side])
        case = await handlers.change(uow, case_id, version, meta, decide, acting)
        return saved(CaseOut.of(case), case.version)

    return await commands.respond(request.app.state.db, work)


@router.post("/{case_id}/criteria/agreement", response_model=CaseOut, responses=PROBLEMS)
async def agree(
    case_id: UUID,
    body: AgreementIn,
    request: Request,
    caller: Negotiator,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """The other side agrees the proposed criteria (`ElsCriteriaAgreed`, both recorded)."""
    side = _side(caller, body.side)
    decide: handlers.Decision = lambda c: c.agree(caller.subject, side)  # noqa: E731
    return await _change(request, case_id, version, meta, decide, caller.acting_as(*SIDES[side]))


@router.post("/{case_id}/observations", response_model=CaseOut, responses=PROBLEMS)
async def observe(
    case_id: UUID, body: ObservationIn, request: Request, caller: Supporter, meta: RequestMeta
) -> Response:
    """One observation of a metric (`ElsObservationRecorded`); the same `observation_id`
    again changes nothing."""
    observation_id = body.observation_id or f"api-{uuid4()}"

    def decide(case: ElsCase) -> list[ElsEvent]:
        return case.observe(observation_id, body.metric, body.value, body.observed_at, "api")

    return await _change(request, case_id, None, meta, decide, caller.acting_as(*SUPPORTERS))


@router.post("/{case_id}/incidents", response_model=CaseOut, responses=PROBLEMS)
async def link_incident(
    case_id: UUID, body: IncidentIn, request: Request, caller: Supporter, meta: RequestMeta
) -> Response:
    """Link an incident or problem to the case (`ElsIncidentLinked`)."""
    decide: handlers.Decision = lambda c: c.link_incident(body.reference, body.kind)  # noqa: E731
    return await _change(request, case_id, None, meta, decide, caller.acting_as(*SUPPORTERS))


@router.post("/{case_id}/tasks", response_model=CaseOut, responses=PROBLEMS)
async def add_task(
    case_id: UUID, body: TaskIn, request: Request, caller: Supporter, meta: RequestMeta
) -> Response:
    """A training or knowledge-transfer task for operations staff (`ElsTaskAdded`)."""
    task_id = uuid4()
    decide: handlers.Decision = lambda c: c.add_task(task_id, body.title, body.assignee, body.due)  # noqa: E731
    return await _change(request, case_id, None, meta, decide, caller.acting_as(*SUPPORTERS))


@router.post("/{case_id}/tasks/{task_id}/done", response_model=CaseOut, responses=PROBLEMS)
async def complete_task(
    case_id: UUID, task_id: UUID, request: Request, caller: Supporter, meta: RequestMeta
) -> Response:
    decide: handlers.Decision = lambda c: c.complete_task(task_id, caller.subject)  # noqa: E731
    return await _change(request, case_id, None, meta, decide, caller.acting_as(*SUPPORTERS))


@router.post("/{case_id}/feedback", response_model=CaseOut, responses=PROBLEMS)
async def give_feedback(
    case_id: UUID, body: FeedbackIn, request: Request, caller: Anyone, meta: RequestMeta
) -> Response:
    """Feedback from users or operations: a rating of 1 to 5 and a comment."""
    decide: handlers.Decision = lambda c: c.give_feedback(body.rating, body.comment, caller.subject)  # noqa: E731
    # Anyone may give feedback, of any team or none: it decides nothing.
    return await _change(request, case_id, None, meta, decide, None)


@router.post("/{case_id}/exit", response_model=CaseOut, responses=PROBLEMS)
async def exit_case(
    case_id: UUID,
    body: ExitIn,
    request: Request,
    caller: Operations,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Operations accepts the hand-over (`ElsExited`): once normal is reached and every task
    of the case is done (else `409` whose `tasks` lists those open), or with an
    `override_reason`, recorded with the tasks left open. release-svc then marks the release
    ready for its review."""
    now = datetime.now(UTC)
    decide: handlers.Decision = lambda c: c.exit(caller.subject, now, body.override_reason)  # noqa: E731
    return await _change(request, case_id, version, meta, decide, caller.acting_as(Role.OPERATIONS))


@router.get("/{case_id}/report", response_model=ReportOut, responses=PROBLEMS)
async def report(case_id: UUID, uow: UoW, _: Reader) -> ReportOut:
    """Duration against plan, each metric's periods against baseline and tolerance,
    incidents, tasks and feedback: as JSON, for a dashboard to draw."""
    async with uow:
        case = await handlers.get_case(uow, case_id)
    now = datetime.now(UTC)
    periods = case.periods(now) if case.started_at else {}
    end = case.exited.exited_at if case.exited and case.exited.exited_at else now
    duration = planned = None
    if case.started_at:
        duration = (end - case.started_at).total_seconds() / 86400
        if case.planned_end:
            planned = (case.planned_end - case.started_at).total_seconds() / 86400
    return ReportOut(
        case=CaseOut.of(case),
        duration_days=duration,
        planned_days=planned,
        metrics=[
            MetricReport(criterion=c, periods=[PeriodOut.of(p) for p in periods.get(c.metric, [])])
            for c in case.criteria
        ],
    )
