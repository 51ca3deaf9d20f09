"""Characters a request may not carry: refused with a 422 naming where, before any handler.

In a query parameter or a path segment, every control character (Unicode category Cc: the
C0 controls, DEL and the C1 controls): none belongs in a name, an id or a filter, and they are
what forges log lines, starts terminal escapes, or is text PostgreSQL cannot hold (NUL). In a
JSON body, NUL, which PostgreSQL stores in neither text nor JSONB, and unpaired surrogates,
which are not UTF-8; newlines and tabs stay allowed there, for prose, and a field that must
be one line says so by its type (`ferry.fields`).
"""

from __future__ import annotations

import email.message
import re
from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

Location = tuple[str | int, ...]


async def refuse_unsafe_characters(request: Request) -> None:
    """Refuse a control character in a parameter, or a NUL in a JSON body, naming each."""
    found: list[tuple[Location, str]] = []
    for name, value in request.query_params.multi_items():
        if _CONTROL.search(name) or _CONTROL.search(value):
            found.append((("query", _named(name)), "must not contain control characters"))
    for name, value in request.path_params.items():
        if isinstance(value, str) and _CONTROL.search(value):
            found.append((("path", name), "must not contain control characters"))
    if not found and _has_json_body(request):
        # FastAPI has already read and parsed the body (for its body field): this reuses it.
        try:
            body = await request.json()
        except ValueError:
            body = None  # not JSON: FastAPI's own validation answers for it
        message = "must not contain NUL or unpaired surrogates"
        found.extend((("body", *loc), message) for loc in unstorable(body))
    if found:
        raise RequestValidationError(
            [
                {"type": "control_character", "loc": loc, "msg": message}
                for loc, message in dict.fromkeys(found)
            ]
        )


def _has_json_body(request: Request) -> bool:
    # Only where the route declared a body, which FastAPI then reads before any dependency:
    # a streamed upload must not be read into memory here.
    if getattr(request.scope.get("route"), "body_field", None) is None:
        return False
    content_type = request.headers.get("content-type")
    if content_type is None:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def unstorable(document: Any) -> Iterator[Location]:
    """Where in a parsed JSON document a string or key holds what PostgreSQL cannot store."""
    # A stack, not recursion: a body may nest as deep as the JSON parser allows.
    stack: list[tuple[Location, Any]] = [((), document)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                yield loc
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if _UNSTORABLE.search(key):
                    yield (*loc, _named(key))
                stack.append(((*loc, _named(key)), item))
        elif isinstance(value, list):
            stack.extend(((*loc, i), item) for i, item in reversed(list(enumerate(value))))


def _named(key: str) -> str:
    """A key as a problem may name it: escaped if it holds control characters or surrogates."""
    if _CONTROL.search(key) or _UNSTORABLE.search(key):
        return key.encode("unicode_escape").decode("ascii")
    return key
