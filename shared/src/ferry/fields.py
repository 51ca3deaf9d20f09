"""Validated string fields for request bodies: what PostgreSQL and a log line can hold."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints


def _no_control_characters(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _no_control_characters_but_lines(value: str) -> str:
    # NUL and its kind cannot be stored in JSONB; newlines and tabs in prose are fine.
    return _no_control_characters(value.replace("\n", " ").replace("\t", " "))


Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control_characters),
]
"""A trimmed, non-empty single line of text (a name, a title)."""

Prose = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(_no_control_characters_but_lines),
]
"""Free text that may span lines (a reason, a description)."""

Notes = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=4000),
    AfterValidator(_no_control_characters_but_lines),
]
"""Like `Prose`, but may be left empty (a description)."""


def _convertible_to_utc(moment: datetime) -> datetime:
    # Year 9999 at -05:00 lies past year 9999 in UTC: refused here, not an error when stored.
    try:
        moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("is out of range") from exc
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_convertible_to_utc)]
"""A point in time with its UTC offset, kept as given (a naive time is refused: whose midnight
would it be?)."""
