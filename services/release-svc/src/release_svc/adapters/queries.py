"""Queries of the read models: filters, and keyset pagination (a page is the rows after the
last one shown, in a fixed order, so pages stay right while rows are added between them)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from ferry.db import UnitOfWork
from ferry.errors import BadRequest


@dataclass(frozen=True)
class Scope:
    """When and where: what overlaps `ends_after` to `starts_before`, in an environment,
    touching a service. None means any."""

    ends_after: datetime | None = None
    starts_before: datetime | None = None
    environment: str | None = None
    service: str | None = None


@dataclass
class Where:
    """Conditions of a query, with their arguments numbered as asyncpg wants them."""

    conditions: list[str] = field(default_factory=list)
    args: list[Any] = field(default_factory=list)

    def arg(self, value: Any) -> str:
        self.args.append(value)
        return f"${len(self.args)}"

    def add(self, condition: str) -> None:
        self.conditions.append(condition)

    def when(self, value: Any, condition: str) -> None:
        """Add `condition`, its `{}` standing for `value`, unless `value` is None (any)."""
        if value is not None:
            self.add(condition.format(self.arg(value)))

    def during(self, scope: Scope) -> None:
        """Rows of `starts_at` to `ends_at` that overlap the scope's time."""
        self.when(scope.starts_before, "starts_at < {}")
        self.when(scope.ends_after, "ends_at > {}")

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.conditions) if self.conditions else ""


def encode_cursor(values: Sequence[object]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([str(v) for v in values])).decode()


def instant(text: str) -> datetime:
    """A cursor's timestamp, in UTC; one without an offset was not given out by us."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError("a timestamp without its offset")
    return moment.astimezone(UTC)


def decode_cursor(cursor: str, parsers: Sequence[Callable[[str], Any]]) -> list[Any]:
    """The order values a cursor holds, each parsed back to the type its column wants."""
    try:
        values = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise ValueError("not a list of the order's values")
        return [parse(str(value)) for parse, value in zip(parsers, values, strict=True)]
    except (ValueError, TypeError, OverflowError, binascii.Error) as exc:
        raise BadRequest("cursor: not a cursor this API gave out") from exc


@dataclass(frozen=True)
class Order:
    """The columns a list is ordered by (unique together), and how a cursor's values parse."""

    columns: tuple[str, ...]
    parsers: tuple[Callable[[str], Any], ...]
    descending: bool = False
    """Newest first, say: every column in descending order."""


async def page(
    uow: UnitOfWork, select: str, where: Where, order: Order, limit: int, cursor: str | None
) -> tuple[list[asyncpg.Record], str | None]:
    """Up to `limit` rows of `select` after `cursor`, and the next page's cursor, or None."""
    columns = ", ".join(order.columns)
    if cursor is not None:
        after = ", ".join(where.arg(v) for v in decode_cursor(cursor, order.parsers))
        where.add(f"({columns}) {'<' if order.descending else '>'} ({after})")
    direction = " DESC" if order.descending else ""
    ordered = ", ".join(f"{column}{direction}" for column in order.columns)
    # One row more than asked tells whether there is a next page.
    sql = f"{select}{where.sql()} ORDER BY {ordered} LIMIT {where.arg(limit + 1)}"
    rows = await uow.fetch(sql, *where.args)
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor([last[c] for c in order.columns])
