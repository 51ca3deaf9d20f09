"""Errors of Ferry's shared machinery; services subclass these for their own rules.

    FerryError
    ├── BadRequest             a malformed header or parameter          → 400
    ├── Unauthenticated        no valid bearer token                     → 401
    ├── Forbidden              the caller may not do this                → 403
    ├── NotFound               no such stream or resource               → 404
    ├── Conflict               the request clashes with current state    → 409
    │   ├── ConcurrencyError   appended at a stale stream version
    │   └── InvalidTransition  command not allowed in the current state
    ├── Unprocessable          well-formed but breaks a rule             → 422
    │   └── IdempotencyKeyReused  the key came with a different request
    ├── PreconditionRequired   a change sent without `If-Match`          → 428
    └── Unavailable            a dependency cannot be reached; retry     → 503

Each maps to an RFC 9457 problem in one place (`ferry.http`).
"""

from __future__ import annotations

from typing import Any


class FerryError(Exception):
    """Base of every error Ferry raises on purpose."""

    status = 500
    title = "Internal error"

    def extensions(self) -> dict[str, Any]:
        """Members the problem carries beside `detail`, e.g. `errors` naming each field."""
        return {}

    def headers(self) -> dict[str, str]:
        """Headers the problem's response carries, e.g. a 416's `Content-Range`."""
        return {}


class BadRequest(FerryError):
    """A malformed header or parameter that schema validation does not cover."""

    status = 400
    title = "Bad request"


class Unauthenticated(FerryError):
    """No bearer token, or one that does not verify."""

    status = 401
    title = "Unauthenticated"


class Forbidden(FerryError):
    """The caller is known but may not do this; the message names the rule."""

    status = 403
    title = "Forbidden"


class NotFound(FerryError):
    """No stream or resource with this id."""

    status = 404
    title = "Not found"


class Conflict(FerryError):
    """The request clashes with the current state."""

    status = 409
    title = "Conflict"


class ConcurrencyError(Conflict):
    """Someone else appended to the stream since it was read."""

    title = "Version conflict"

    def __init__(self, stream_id: str, expected_version: int) -> None:
        super().__init__(
            f"stream {stream_id} is no longer at version {expected_version}; "
            "read it again and retry with its current ETag"
        )
        self.stream_id = stream_id
        self.expected_version = expected_version


class InvalidTransition(Conflict):
    """The command is not allowed in the aggregate's current state."""

    title = "Invalid transition"

    def __init__(self, aggregate_id: object, state: str, command: str) -> None:
        super().__init__(f"cannot {command} {aggregate_id}: it is {state}")
        self.state = state


class Unprocessable(FerryError):
    """The request is well-formed but breaks a rule."""

    status = 422
    title = "Unprocessable request"


class InvalidField(Unprocessable):
    """A field's value breaks a rule the schema cannot state (e.g. one that needs the state).

    Its problem names the field in `errors`, like a schema violation does."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"field": self.field, "message": str(self)}]}


class IdempotencyKeyReused(Unprocessable):
    """An Idempotency-Key was sent again with a different request."""

    title = "Idempotency-Key reused"


class PreconditionRequired(FerryError):
    """A change sent without `If-Match` could silently overwrite someone else's."""

    status = 428
    title = "Precondition required"


class Unavailable(FerryError):
    """A dependency (Kafka, PostgreSQL) cannot be reached: the client retries after
    `Retry-After` seconds, as for every other 503 Ferry answers."""

    status = 503
    title = "Service unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}
