"""Validated string fields for request bodies: what PostgreSQL and a log line can hold."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, Field, StringConstraints


def _no_control_characters(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _no_control_characters_but_lines(value: str) -> str:
    # NUL and its kind cannot be stored in JSONB; newlines and tabs in prose are fine.
    return _no_control_characters(value.replace("\n", " ").replace("\t", " "))


# The rules below as JSON Schema patterns, for the OpenAPI document only (the validators above
# say which rule a value broke): Cc characters refused, tab and newline allowed in prose, and
# something besides whitespace where whitespace is stripped and emptiness refused.
_CC, _CC_BUT_LINES = r"\x00-\x1f\x7f-\x9f", r"\x00-\x08\x0b-\x1f\x7f-\x9f"
_LINE = Field(json_schema_extra={"pattern": f"^[^{_CC}]*[^\\s{_CC}][^{_CC}]*$"})
_PROSE = Field(
    json_schema_extra={"pattern": f"^[^{_CC_BUT_LINES}]*[^\\s{_CC_BUT_LINES}][^{_CC_BUT_LINES}]*$"}
)
_NOTES = Field(json_schema_extra={"pattern": f"^[^{_CC_BUT_LINES}]*$"})
_YEARS = r"^(19[7-9][0-9]|2[0-9]{3})-"
"""1970 to 2999, as `FIRST_DAY` and `LAST_DAY` say."""

Line = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    _LINE,
    AfterValidator(_no_control_characters),
]
"""A trimmed, non-empty single line of text (a name, a title)."""

Prose = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    _PROSE,
    AfterValidator(_no_control_characters_but_lines),
]
"""Free text that may span lines (a reason, a description)."""

Notes = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=4000),
    _NOTES,
    AfterValidator(_no_control_characters_but_lines),
]
"""Like `Prose`, but may be left empty (a description)."""


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
"""The days plans may name: far enough from the calendar's ends that arithmetic on them
(a day after, a week before, a time zone away) never leaves it."""

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _not_a_number(value: object) -> object:
    # Left to pydantic, 0, 1.5 and "1700000000" are seconds since 1970: a client's mistake
    # becomes a plan in 1970. Only ISO 8601 says which day it means.
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("must be an ISO 8601 date or time, not a number")
    return value


Day = Annotated[
    date,
    Field(ge=FIRST_DAY, le=LAST_DAY, json_schema_extra={"pattern": _YEARS}),
    BeforeValidator(_not_a_number),
]
"""A day of a plan."""


def _within_the_days(moment: datetime) -> datetime:
    if not FIRST_DAY <= moment.date() <= LAST_DAY:
        raise ValueError(f"must lie between {FIRST_DAY} and {LAST_DAY}")
    return moment


Moment = Annotated[
    AwareDatetime,
    Field(json_schema_extra={"pattern": _YEARS}),
    BeforeValidator(_not_a_number),
    AfterValidator(_within_the_days),
]
"""A point in time with its UTC offset, kept as given (a naive time is refused: whose midnight
would it be?)."""
