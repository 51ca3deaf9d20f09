"""The OpenAPI document every service serves, completed from what its routes depend on.

FastAPI describes a route's parameters and bodies, but not what Ferry's shared dependencies
answer: the bearer token `ferry.auth.authenticate` demands, the `If-Match` that
`ferry.http.expected_version` requires, and the problems `ferry.http.install` turns errors
into. This module adds them to each operation from the route's dependency tree, so a generic
client (and the contract test, tests/contract) can trust the document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from ferry.auth import authenticate
from ferry.http import ETAG_PATTERN, PROBLEM, expected_version, unit_of_work, version_if_any

BEARER = "bearer"
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `errors` names each invalid field.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "correlation_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string", "description": "the rule broken, e.g. missing"},
                },
            },
        },
    },
    "additionalProperties": True,
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

UNAUTHENTICATED = {
    "description": "No valid bearer token",
    "headers": {
        "WWW-Authenticate": {"required": True, "schema": {"type": "string", "pattern": "^Bearer"}}
    },
}
FORBIDDEN = {"description": "The caller's roles do not allow this"}
MALFORMED = {"description": "Malformed request: the body is not JSON, or a header is malformed"}
INVALID = {"description": "Invalid request: `errors` names each field and rule"}
UNAVAILABLE = {
    "description": "The database cannot be reached; retry shortly",
    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}},
}
STALE = {"description": "The state, or a newer version, does not allow it"}
PRECONDITION_REQUIRED = {"description": "If-Match missing"}
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""What `ferry.characters` holds every query and path parameter to, whatever its route says."""
IF_MATCH = {
    "name": "if-match",
    "in": "header",
    "required": True,
    "description": 'The ETag of the version read, e.g. "3"',
    "schema": {"type": "string", "pattern": ETAG_PATTERN},
}


def install(app: FastAPI) -> None:
    """Serve `document(app)` as the app's OpenAPI document, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document of `app`, with security, `If-Match` and problems completed."""
    doc = FastAPI.openapi(app)
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }
    # Contexts, not `app.routes`: FastAPI keeps an included router whole, as one route.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        calls = set(_calls(route.dependant))
        for method in route.methods or ():
            operation = doc["paths"][route.path_format][method.lower()]
            _complete(operation, calls)
    return doc


def _complete(operation: dict[str, Any], calls: set[Callable[..., Any]]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for parameter in operation.get("parameters", []):
        if parameter["in"] in {"query", "path"}:
            _refuse_control_characters(parameter["schema"])
    # Every route answers 422 for a control character in a parameter (ferry.characters),
    # declared or not; FastAPI's own 422 said application/json, but the answer is a problem.
    _declare(responses, "422", INVALID)
    if "requestBody" in operation:
        _declare(responses, "400", MALFORMED)
    if authenticate in calls:
        operation["security"] = [{BEARER: []}]
        _declare(responses, "401", UNAUTHENTICATED)
        _declare(responses, "403", FORBIDDEN)
    # Routes behind a token all reach the database, some without taking a unit of work; a
    # public one (a signed callback, a calendar feed) only through one.
    if authenticate in calls or unit_of_work in calls:
        _declare(responses, "503", UNAVAILABLE)
    if expected_version in calls or version_if_any in calls:
        parameters = [p for p in operation.get("parameters", []) if p["name"].lower() != "if-match"]
        if_match = {**IF_MATCH, "required": expected_version in calls}
        operation["parameters"] = [*parameters, if_match]
        _declare(responses, "400", MALFORMED)
        _declare(responses, "409", STALE)
        _declare(responses, "428", PRECONDITION_REQUIRED)
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = {PROBLEM: {"schema": _PROBLEM_REF}}


def _declare(responses: dict[str, Any], status: str, base: dict[str, Any]) -> None:
    """`base` for `status`, keeping the route's own description and headers where it has them."""
    own = responses.get(status, {})
    responses[status] = {
        "description": own.get("description", base["description"]),
        "headers": base.get("headers", {}) | own.get("headers", {}),
    }
    if not responses[status]["headers"]:
        del responses[status]["headers"]


def _refuse_control_characters(schema: dict[str, Any]) -> None:
    # A route's own pattern or format already says which characters it takes.
    if schema.get("type") == "string" and "pattern" not in schema and "format" not in schema:
        schema["pattern"] = NO_CONTROL_CHARACTERS
    for branch in (*schema.get("anyOf", ()), *([schema["items"]] if "items" in schema else ())):
        _refuse_control_characters(branch)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """Every callable a route depends on, however deep."""
    for sub in dependant.dependencies:
        if sub.call is not None:
            yield sub.call
        # Deeper too: `allow(...)` is an instance whose `__call__` depends on `authenticate`.
        yield from _calls(sub)
