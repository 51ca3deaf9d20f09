"""Routes of the Definitive Hardware Store: spares, their withdrawals into live, and the
configuration items' live revision levels."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from dml_svc.adapters.views import PostgresViews
from dml_svc.domain.spares import RegisterSpare, Spare
from dml_svc.handlers import spares
from dml_svc.projections import approved_changes
from dml_svc.projections import spares as spares_list
from ferry import commands
from ferry.auth import Principal, Reader, Role, allow, allow_scoped
from ferry.db import UnitOfWork
from ferry.errors import NotFound
from ferry.events.dml import SpareEvent
from ferry.http import ExpectedVersion, etag, problem_responses, saved
from ferry.idempotency import IdempotencyKey, Reply, json_reply
from ferry.service import RequestMeta, UoW

CI = r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$"
REVISION = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^\P{C}+$")
]
ConfigurationItem = Annotated[str, StringConstraints(pattern=CI)]
Revision = Annotated[str, StringConstraints(pattern=REVISION)]
Quantity = Annotated[int, Field(ge=1, le=1_000_000)]
CiPath = Annotated[str, Path(pattern=CI, description="letters, digits, '.', '_', ':', '+', '-'")]

Librarian = Annotated[Principal, allow(Role.DML_LIBRARIAN)]
WITHDRAWERS = (Role.DML_LIBRARIAN, Role.DEPLOYER)
Withdrawer = Annotated[Principal, allow_scoped(*WITHDRAWERS)]
"""A deployer may withdraw for a team owning every item the spare replaces."""
RevisionKeeper = Annotated[Principal, allow(Role.DML_LIBRARIAN, Role.OPERATIONS)]
# Each route's own problems; ferry.openapi adds those every route shares (401, 403, 422,
# 503, and 400, 409, 428 where a body or `If-Match` is taken).
NO_SPARE = {404: "No such spare"}
PROBLEMS = problem_responses(
    {
        **NO_SPARE,
        409: "Too few units in store, or the spare changed since it was read (re-read it)",
        422: "Invalid field, or an RFC that is not approved; `errors` names each",
    }
)
"""A change to a spare (withdraw, return, replace): it takes `If-Match`."""


class SpareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Text
    part_number: Text
    revision: Revision
    """The part's revision level, e.g. `C` or `2.1`."""
    quantity: Quantity
    location: Text
    replaces: list[ConfigurationItem] = Field(min_length=1, max_length=100)
    """The configuration items a unit can replace in live."""


class WithdrawalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Quantity = 1
    rfc: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=r"^\S+$")]
    """The approved request for change the units go into live under."""


class SettlementIn(BaseModel):
    """Units of a withdrawal, returned to the store or replaced there."""

    model_config = ConfigDict(extra="forbid")

    withdrawal: Annotated[int, Field(ge=1)]
    quantity: Quantity = 1


class LiveRevisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: Revision


class WithdrawalOut(BaseModel):
    withdrawal: int
    rfc: str
    withdrawn_by: str
    outstanding: int
    """Units still in live, not yet returned or replaced."""


class SpareSummary(BaseModel):
    spare_id: UUID
    model: str
    part_number: str
    revision: str
    location: str
    replaces: list[str]
    in_store: int
    in_live: int
    out_of_date: bool
    stream_version: int


class SpareOut(SpareSummary):
    withdrawals: list[WithdrawalOut]
    """The open withdrawals, oldest first."""
    out_of_date_for: dict[str, str]
    """The configuration items running a newer revision in live, with that revision."""

    @classmethod
    def of(cls, spare: Spare) -> SpareOut:
        return cls(
            spare_id=spare.id,
            model=spare.model,
            part_number=spare.part_number,
            revision=spare.revision,
            location=spare.location,
            replaces=list(spare.replaces),
            in_store=spare.in_store,
            in_live=spare.in_live,
            out_of_date=spare.out_of_date,
            stream_version=spare.version,
            withdrawals=[
                WithdrawalOut(
                    withdrawal=w.number,
                    rfc=w.rfc,
                    withdrawn_by=w.withdrawn_by,
                    outstanding=w.outstanding,
                )
                for w in sorted(spare.withdrawals.values(), key=lambda w: w.number)
            ],
            out_of_date_for=dict(spare.out_of_date_for),
        )


class SparePage(BaseModel):
    items: list[SpareSummary]
    next: str | None


class LiveRevisionOut(BaseModel):
    configuration_item: str
    revision: str
    set_by: str
    set_at: datetime


class LiveRevisionSet(BaseModel):
    configuration_item: str
    revision: str
    flagged: list[UUID]
    """The spares this change flagged as out of date."""


router = APIRouter(prefix="/spares", tags=["hardware store"])


def _response(reply: Reply) -> Response:
    return Response(reply.body, reply.status_code, reply.headers, media_type="application/json")


def _saved(spare: Spare, status: int = 200, location: str | None = None) -> Reply:
    return saved(SpareOut.of(spare), spare.version, status=status, location=location)


class Settlement:
    """What a return and a replacement share: units of a withdrawal of the spare as the
    caller, a librarian, read it (`If-Match`)."""

    def __init__(
        self,
        spare_id: UUID,
        body: SettlementIn,
        request: Request,
        caller: Librarian,
        meta: RequestMeta,
        version: ExpectedVersion,
    ) -> None:
        self._spare_id, self._body, self._db = spare_id, body, request.app.state.db
        self._by, self._meta, self._version = caller.subject, meta, version

    async def settle(self, how: Callable[[Spare, int, int, str], list[SpareEvent]]) -> Response:
        """Let the spare decide `how` the units come back; reply with the spare."""
        body = self._body

        async def work(uow: UnitOfWork) -> Reply:
            spare = await spares.change_spare(
                uow,
                PostgresViews(uow),
                self._spare_id,
                self._version,
                self._meta,
                lambda s: how(s, body.withdrawal, body.quantity, self._by),
                None,  # librarians only: held everywhere
            )
            return _saved(spare)

        return _response(await commands.run(self._db, work))


# Declared before `/{spare_id}`: "live-revisions" is no spare id.
@router.put(
    "/live-revisions/{configuration_item}",
    response_model=LiveRevisionSet,
    responses=problem_responses({409: "A spare it flags changed meanwhile: send it again"}),
)
async def set_live_revision(
    configuration_item: CiPath,
    body: LiveRevisionIn,
    request: Request,
    caller: RevisionKeeper,
    meta: RequestMeta,
) -> Response:
    """The revision level now live for a configuration item; each spare replacing it at an
    older revision → `SpareRevisionOutOfDate`. The same revision again flags nothing."""

    async def work(uow: UnitOfWork) -> Reply:
        await spares_list.set_live_revision(uow, configuration_item, body.revision, caller.subject)
        flagged = []
        views = PostgresViews(uow)
        for spare_id in await spares_list.replacing(uow, configuration_item):
            _, now_flagged = await spares.note_live_revision(
                uow, views, spare_id, configuration_item, body.revision, meta
            )
            if now_flagged:
                flagged.append(spare_id)
        out = LiveRevisionSet(
            configuration_item=configuration_item, revision=body.revision, flagged=flagged
        )
        return json_reply(200, out.model_dump(mode="json"))

    return _response(await commands.run(request.app.state.db, work))


@router.get(
    "/live-revisions/{configuration_item}",
    response_model=LiveRevisionOut,
    responses=problem_responses({404: "No live revision is known for it"}),
)
async def get_live_revision(configuration_item: CiPath, uow: UoW, _: Reader) -> LiveRevisionOut:
    """The revision level live for a configuration item, who said so and when."""
    async with uow:
        row = await spares_list.live_revision(uow, configuration_item)
    if row is None:
        raise NotFound(f"no live revision is known for {configuration_item}")
    return LiveRevisionOut(**dict(row))


@router.post("", status_code=201, response_model=SpareOut)
async def register_spare(
    body: SpareIn,
    request: Request,
    caller: Librarian,
    meta: RequestMeta,
    key: Annotated[
        str | None, Header(alias="Idempotency-Key", min_length=1, max_length=200)
    ] = None,
) -> Response:
    """Put a stock of a part into the store → `SpareRegistered` (and `SpareRevisionOutOfDate`
    for a configuration item already running a newer revision)."""

    async def work(uow: UnitOfWork) -> Reply:
        cmd = RegisterSpare(
            uuid4(),
            body.model,
            body.part_number,
            body.revision,
            body.quantity,
            body.location,
            tuple(body.replaces),
        )
        live = await spares_list.live_revisions(uow, cmd.replaces)
        spare = await spares.register_spare(cmd, uow, PostgresViews(uow), meta, live)
        return _saved(spare, 201, f"/spares/{spare.id}")

    # Scoped to the caller: one client's key never replays another's reply.
    scope = f"POST /spares {caller.subject}"
    idempotency = IdempotencyKey.of(scope, key, await request.body()) if key else None
    return _response(await commands.run(request.app.state.db, work, idempotency))


@router.get(
    "",
    response_model=SparePage,
    responses=problem_responses({400: "A cursor this API did not give out"}),
)
async def list_spares(
    uow: UoW,
    _: Reader,
    model: Annotated[str | None, Query(max_length=200)] = None,
    part_number: Annotated[str | None, Query(max_length=200)] = None,
    location: Annotated[str | None, Query(max_length=200)] = None,
    configuration_item: Annotated[str | None, Query(pattern=CI)] = None,
    out_of_date: bool | None = None,
    available: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> SparePage:
    """Spares by model, part number and id, filtered, a page at a time (follow `next`);
    `configuration_item` finds those that can replace it, `available` those with a unit in
    store."""
    filters = spares_list.Filters(
        model, part_number, location, configuration_item, out_of_date, available
    )
    async with uow:
        rows, next_cursor = await spares_list.page(uow, filters, limit, cursor)
    return SparePage(items=[SpareSummary(**dict(row)) for row in rows], next=next_cursor)


@router.get("/{spare_id}", response_model=SpareOut, responses=problem_responses(NO_SPARE))
async def get_spare(spare_id: UUID, uow: UoW, response: Response, _: Reader) -> SpareOut:
    """One spare, with its open withdrawals; its `ETag` is what changes send as `If-Match`."""
    async with uow:
        spare = await spares.get_spare(uow, spare_id)
    response.headers["ETag"] = etag(spare.version)
    return SpareOut.of(spare)


@router.post("/{spare_id}/withdrawals", response_model=SpareOut, responses=PROBLEMS)
async def withdraw_spare(
    spare_id: UUID,
    body: WithdrawalIn,
    request: Request,
    caller: Withdrawer,
    meta: RequestMeta,
    version: ExpectedVersion,
) -> Response:
    """Take units into live under an approved RFC → `SpareWithdrawn` (numbered: the last of
    `withdrawals`). Requires `If-Match`: of two withdrawals from the same version one wins,
    the other gets 409, so the store never gives out more than it holds."""

    async def work(uow: UnitOfWork) -> Reply:
        approved = await approved_changes.approved(uow, body.rfc)
        spare = await spares.change_spare(
            uow,
            PostgresViews(uow),
            spare_id,
            version,
            meta,
            lambda s: s.withdraw(body.quantity, body.rfc, approved, caller.subject),
            caller.acting_as(*WITHDRAWERS),
        )
        return _saved(spare)

    return _response(await commands.run(request.app.state.db, work))


@router.post("/{spare_id}/returns", response_model=SpareOut, responses=PROBLEMS)
async def return_spare(settlement: Annotated[Settlement, Depends()]) -> Response:
    """Units of a withdrawal come back to the store → `SpareReturned`. Requires `If-Match`."""
    return await settlement.settle(Spare.take_back)


@router.post("/{spare_id}/replacements", response_model=SpareOut, responses=PROBLEMS)
async def replace_spare(settlement: Annotated[Settlement, Depends()]) -> Response:
    """Units of a withdrawal stay in live and new ones of the same part and revision take
    their place in the store → `SpareReplaced`. Requires `If-Match`."""
    return await settlement.settle(Spare.replace)
