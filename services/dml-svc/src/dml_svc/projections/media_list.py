"""The media list, kept with every change to a media item, for browsing and filters."""

from __future__ import annotations

import base64
from dataclasses import dataclass

import asyncpg

from dml_svc.domain.media import Media
from ferry.db import UnitOfWork
from ferry.errors import BadRequest

COLUMNS = (
    "media_id, name, version, sha256, size, kind, media_type, supplier, state, stream_version, "
    "licence, service"
)


@dataclass(frozen=True)
class Filters:
    name: str | None = None
    kind: str | None = None
    state: str | None = None
    teams: frozenset[str] | None = None
    """Media for a service one of these teams owns."""


LICENCE_FIELDS = {
    "licence_name",
    "licence_version",
    "licence_sha256",
    "seats",
    "expires_on",
    "terms",
}


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".media'


async def save(uow: UnitOfWork, media: Media) -> None:
    await uow.execute(
        f"INSERT INTO {_table(uow)} ({COLUMNS}) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) "
        "ON CONFLICT (media_id) DO UPDATE SET state = $9, stream_version = $10, licence = $11",
        media.id,
        media.name,
        media.media_version,
        media.sha256,
        media.size,
        str(media.kind),
        media.media_type,
        media.supplier,
        str(media.state),
        media.version,
        media.licence.model_dump(mode="json", include=LICENCE_FIELDS) if media.licence else None,
        media.service,
    )


def _cursor(row: asyncpg.Record) -> str:
    return base64.urlsafe_b64encode(f"{row['name']}\x00{row['version']}".encode()).decode()


def _after(cursor: str) -> tuple[str, str]:
    try:
        name, version = base64.urlsafe_b64decode(cursor.encode()).decode().split("\x00")
    except ValueError as exc:
        raise BadRequest("cursor: not a cursor this API gave out") from exc
    return name, version


async def page(
    uow: UnitOfWork, filters: Filters, limit: int, cursor: str | None
) -> tuple[list[asyncpg.Record], str | None]:
    """A page of media by name and version; the cursor of the next page, or None."""
    conditions, args = [], []
    for column in ("kind", "state"):
        if (value := getattr(filters, column)) is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}")
    if filters.name is not None:
        args.append(filters.name)
        conditions.append(f"name = ${len(args)}")
    if filters.teams is not None:
        args.append(sorted(filters.teams))
        conditions.append(
            f'service IN (SELECT unnest(services) FROM "{uow.schema}".teams '
            f"WHERE name = ANY(${len(args)}::text[]))"
        )
    if cursor is not None:
        args.extend(_after(cursor))
        conditions.append(f"(name, version) > (${len(args) - 1}, ${len(args)})")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    args.append(limit + 1)
    rows = await uow.fetch(
        f"SELECT {COLUMNS} FROM {_table(uow)} {where} ORDER BY name, version LIMIT ${len(args)}",
        *args,
    )
    if len(rows) > limit:
        return rows[:limit], _cursor(rows[limit - 1])
    return rows, None
