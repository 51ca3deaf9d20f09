"""HTTP pieces every service shares: RFC 9457 problems, correlation ids, metrics, ETags."""

from __future__ import annotations

import logging
import re
import time
from typing import Annotated, Any
from uuid import uuid4

import asyncpg
import orjson
from asgi_correlation_id import CorrelationIdMiddleware, correlation_id
from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ferry import metrics
from ferry.db import Database, UnitOfWork
from ferry.errors import BadRequest, FerryError, PreconditionRequired
from ferry.idempotency import Reply, json_reply
from ferry.pool import BROKEN_CONNECTION

PROBLEM = "application/problem+json"

log = logging.getLogger(__name__)
CORRELATION_HEADER = "X-Correlation-ID"


def problem_responses(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problems a route may answer with."""
    return {code: {"content": {PROBLEM: {}}, "description": text} for code, text in codes.items()}


def problem(
    status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    """An RFC 9457 problem details response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    cid = correlation_id.get()
    if cid:
        body["correlation_id"] = cid
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM)


def _field(loc: tuple[int | str, ...]) -> str:
    # ("body", "planned_start") → "planned_start"; headers and query keep their place.
    parts = [str(p) for p in loc]
    return ".".join(parts[1:] if parts and parts[0] == "body" and len(parts) > 1 else parts)


async def _validation_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _field(tuple(e["loc"])), "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    if any(e["type"] == "json_invalid" for e in errors):
        return problem(400, "Malformed JSON", "the request body is not valid JSON", errors=errors)
    fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
    return problem(422, "Invalid request", f"invalid fields: {fields}", errors=errors)


async def _ferry_problem(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, FerryError)
    headers = exc.headers()
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="ferry"'
    return problem(exc.status, exc.title, str(exc), headers=headers, **exc.extensions())


async def _http_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route on the path only (`POST` where
        # `GET` is another route's): RFC 9110 wants every method the resource has.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return problem(exc.status_code, detail, detail, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):
        regex = getattr(route, "path_regex", None)
        if regex is not None and route.methods and regex.match(request.scope["path"]):
            methods |= route.methods
    return sorted(methods)


async def _unavailable_problem(_: Request, exc: Exception) -> Response:
    # Logged by `ferry.outages.POSTGRESQL` as the outage starts and ends, not per request.
    return problem(
        503,
        "Service unavailable",
        "the database cannot be reached; retry shortly",
        headers={"Retry-After": "1"},
    )


async def _data_problem(_: Request, exc: Exception) -> Response:
    # A value validation let through but PostgreSQL refuses (a character it cannot hold, a
    # number out of its range): the request's fault, so a 422, never a 500. What PostgreSQL
    # said stays in the log: it may quote the statement or the value.
    assert isinstance(exc, asyncpg.DataError)
    log.warning("the database refused a value: %s %.200r", type(exc).__name__, str(exc))
    return problem(
        422,
        "Unprocessable value",
        "a value in the request cannot be stored or compared: check its characters and range",
        sqlstate=exc.sqlstate,
    )


async def _client_gone(request: Request, _: Exception) -> Response:
    # Nobody is left to answer; what the route had begun (a half-written upload) it cleaned up
    # as the exception went by. A warning, not a stack trace: a client may always hang up.
    log.warning(
        "client disconnected mid-upload: %s %s", request.method, _route_template(request.scope)
    )
    return problem(400, "Client disconnected", "the request body ended before it was complete")


async def _unexpected_problem(_: Request, exc: Exception) -> Response:
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


def _valid_correlation_id(value: str) -> bool:
    return 0 < len(value) <= 128 and value.isprintable()


def install(app: FastAPI, service: str) -> None:
    """Problems for every error, correlation ids in and out, request latency metrics."""
    app.add_exception_handler(RequestValidationError, _validation_problem)
    app.add_exception_handler(FerryError, _ferry_problem)
    app.add_exception_handler(HTTPException, _http_problem)
    # A connection the server cut, even one that looked idle in the pool until used: a 503
    # to retry (the unit of work dropped it), not a 500.
    for unavailable in BROKEN_CONNECTION:
        app.add_exception_handler(unavailable, _unavailable_problem)
    app.add_exception_handler(asyncpg.DataError, _data_problem)
    app.add_exception_handler(ClientDisconnect, _client_gone)
    app.add_exception_handler(Exception, _unexpected_problem)

    app.add_middleware(_Measure, service=service)
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=CORRELATION_HEADER,
        generator=lambda: uuid4().hex,
        validator=_valid_correlation_id,
        transformer=None,
    )


class _Measure:
    """ASGI middleware: each request's latency, by route and status. Plain ASGI, not
    `@app.middleware("http")`, which runs every request in a task of its own (#16)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            metrics.REQUEST_LATENCY.labels(
                self.service, scope["method"], _route_template(scope), str(status)
            ).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    # The template, not the path: one time series per route, not per release id.
    return str(getattr(scope.get("route"), "path", "unmatched"))


# Hand-written, not werkzeug's `parse_etags` (#15): that gives a set of strings still to be
# made the one version an append checks, takes 2.2 against 0.8 microseconds, and is only a dev
# dependency here (through schemathesis). A list (`"1", "2"`) or `*` is a 400: an append checks
# one version. `W/"3"` counts as "3" although RFC 9110 compares If-Match strongly: a version
# names the state whatever its encoding, and a compressing proxy weakens the tag it passes on.
_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,9})"\s*$')
ETAG_PATTERN = r'^(W/)?"[0-9]{1,9}"$'
"""`If-Match` as the OpenAPI document states it: HTTP strips the spaces `_ETAG` allows."""


def json_page(items: list[str], next_cursor: str | None) -> Response:
    """A page of a list, `{"items": [...], "next": ...}`, from items that are JSON already
    (written by PostgreSQL): no model per item to build and serialise again."""
    body = b'{"items":[' + ",".join(items).encode() + b'],"next":'
    return Response(body + orjson.dumps(next_cursor) + b"}", media_type="application/json")


def etag(version: int) -> str:
    return f'"{version}"'


def saved(
    body: BaseModel, version: int, *, status: int = 200, location: str | None = None
) -> Reply:
    """A command's reply: the resource as JSON, its stream version as the `ETag` the next
    change sends in `If-Match`, and, for one just created, its `Location`."""
    headers = {"ETag": etag(version)}
    if location is not None:
        headers["Location"] = location
    return json_reply(status, body.model_dump(mode="json"), headers)


async def unit_of_work(request: Request) -> UnitOfWork:
    """A unit of work on the service's database: a route that takes one may answer 503."""
    db: Database = request.app.state.db
    return db.unit_of_work()


async def expected_version(
    if_match: Annotated[str | None, Header(description='the ETag read, e.g. "1"')] = None,
) -> int:
    """The stream version a client read, from its `If-Match: "<version>"` header."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag of the version you read")
    return version_of(if_match)


def version_of(if_match: str) -> int:
    """The version an `If-Match` value names."""
    found = _ETAG.match(if_match)
    if found is None:
        raise BadRequest(f'If-Match must be an ETag like "3", not {if_match[:40]!r}')
    return int(found.group(1))


ExpectedVersion = Annotated[int, Depends(expected_version)]
"""A change's `If-Match`: required, and the version the client read."""


async def version_if_any(
    if_match: Annotated[str | None, Header(description='the ETag read, e.g. "1"')] = None,
) -> int | None:
    """The stream version a client read, if it sent `If-Match`: a route that creates what
    is not there yet takes none, and asks for it (428) once there is something to change."""
    return None if if_match is None else version_of(if_match)


VersionIfAny = Annotated[int | None, Depends(version_if_any)]
"""`If-Match` on a route that creates or changes: the version read, None when not sent."""
