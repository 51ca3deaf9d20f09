"""Validated string fields for request bodies: what PostgreSQL and a log line can hold."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints


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


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
"""The days plans may name: far enough from the calendar's ends that arithmetic on them
(a day after, a week before, a time zone away) never leaves it."""

Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
"""A day of a plan."""


def _within_the_days(moment: datetime) -> datetime:
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise ValueError(f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_within_the_days)]
"""A point in time with its UTC offset, kept as given (a naive time is refused: whose midnight
would it be?)."""
