"""The spares list, kept with every change to a spare (for browsing, filters, and finding the
spares that replace a configuration item), and each configuration item's live revision."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from dml_svc.domain.spares import Spare
from ferry.db import UnitOfWork
from ferry.errors import BadRequest

COLUMNS = (
    "spare_id, model, part_number, revision, location, replaces, in_store, in_live, "
    "out_of_date, stream_version"
)
ORDER = "model, part_number, spare_id"


@dataclass(frozen=True)
class Filters:
    """What a listing keeps; None means any."""

    model: str | None = None
    part_number: str | None = None
    location: str | None = None
    configuration_item: str | None = None
    """Spares that can replace this configuration item."""
    out_of_date: bool | None = None
    available: bool | None = None
    """True: spares with a unit in store; False: those without."""


async def save(uow: UnitOfWork, spare: Spare) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".spares ({COLUMNS}) '
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (spare_id) DO UPDATE "
        "SET in_store = $7, in_live = $8, out_of_date = $9, stream_version = $10",
        spare.id,
        spare.model,
        spare.part_number,
        spare.revision,
        spare.location,
        list(spare.replaces),
        spare.in_store,
        spare.in_live,
        spare.out_of_date,
        spare.version,
    )


async def replacing(uow: UnitOfWork, configuration_item: str) -> list[UUID]:
    """The spares that can replace `configuration_item`."""
    rows = await uow.fetch(
        f'SELECT spare_id FROM "{uow.schema}".spares WHERE replaces @> ARRAY[$1]::text[] '
        "ORDER BY spare_id",
        configuration_item,
    )
    return [row["spare_id"] for row in rows]


def _cursor(row: asyncpg.Record) -> str:
    return base64.urlsafe_b64encode(
        orjson.dumps([row["model"], row["part_number"], str(row["spare_id"])])
    ).decode()


def _after(cursor: str) -> tuple[str, str, UUID]:
    try:
        model, part_number, spare_id = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))
        return str(model), str(part_number), UUID(str(spare_id))
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("cursor: not a cursor this API gave out") from exc


async def page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[asyncpg.Record], str | None]:
    """A page of spares by model, part number and id; the cursor of the next page, or None."""
    conditions: list[str] = []
    args: list[Any] = []

    def where(condition: str, *values: Any) -> None:
        # Each `{}` of the condition becomes the number asyncpg gives the value in its place.
        places = []
        for value in values:
            args.append(value)
            places.append(f"${len(args)}")
        conditions.append(condition.format(*places))

    for column in ("model", "part_number", "location", "out_of_date"):
        if (value := getattr(filters, column)) is not None:
            where(f"{column} = {{}}", value)
    if filters.configuration_item is not None:
        where("replaces @> ARRAY[{}]::text[]", filters.configuration_item)
    if filters.available is not None:
        where("(in_store > 0) = {}", filters.available)
    if cursor is not None:
        where(f"({ORDER}) > ({{}}, {{}}, {{}})", *_after(cursor))
    sql = f'SELECT {COLUMNS} FROM "{uow.schema}".spares'
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    # One row more than asked tells whether there is a next page.
    args.append(limit + 1)
    rows = await uow.fetch(f"{sql} ORDER BY {ORDER} LIMIT ${len(args)}", *args)
    if len(rows) > limit:
        return rows[:limit], _cursor(rows[limit - 1])
    return rows, None


async def set_live_revision(
    uow: UnitOfWork, configuration_item: str, revision: str, by: str
) -> None:
    await uow.execute(
        f'INSERT INTO "{uow.schema}".live_revisions (configuration_item, revision, set_by) '
        "VALUES ($1, $2, $3) ON CONFLICT (configuration_item) DO UPDATE "
        "SET revision = $2, set_by = $3, set_at = now()",
        configuration_item,
        revision,
        by,
    )


async def live_revision(uow: UnitOfWork, configuration_item: str) -> asyncpg.Record | None:
    """The CI's live revision, who said so and when; None if nobody has."""
    return await uow.fetchrow(
        "SELECT configuration_item, revision, set_by, set_at "
        f'FROM "{uow.schema}".live_revisions WHERE configuration_item = $1',
        configuration_item,
    )


async def live_revisions(uow: UnitOfWork, configuration_items: Iterable[str]) -> dict[str, str]:
    """The known live revisions of `configuration_items`, by CI."""
    rows = await uow.fetch(
        "SELECT configuration_item, revision "
        f'FROM "{uow.schema}".live_revisions WHERE configuration_item = ANY($1::text[])',
        list(configuration_items),
    )
    return {row["configuration_item"]: row["revision"] for row in rows}
