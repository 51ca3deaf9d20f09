"""The media the DML has announced on `dml.events`: what a package may consist of."""

from __future__ import annotations

from collections.abc import Sequence

from ferry.db import UnitOfWork
from ferry.events.dml import MediaRevoked, MediaStaged
from ferry.events.release import MediaRef


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".known_media'


async def staged(uow: UnitOfWork, event: MediaStaged) -> None:
    # The DML never overwrites a name@version, so the first announcement is the truth.
    await uow.execute(
        f"INSERT INTO {_table(uow)} (name, version, sha256) VALUES ($1, $2, $3) "
        "ON CONFLICT (name, version) DO NOTHING",
        event.name,
        event.version,
        event.sha256,
    )


async def revoked(uow: UnitOfWork, event: MediaRevoked) -> None:
    await uow.execute(
        f"INSERT INTO {_table(uow)} (name, version, sha256, revoked) VALUES ($1, $2, $3, true) "
        "ON CONFLICT (name, version) DO UPDATE SET revoked = true",
        event.name,
        event.version,
        event.sha256,
    )


async def known(uow: UnitOfWork, media: Sequence[MediaRef]) -> set[MediaRef]:
    """Those of `media` the DML has announced, with the same digest, and not revoked."""
    rows = await uow.fetch(
        f"SELECT name, version, sha256 FROM {_table(uow)} "
        "WHERE NOT revoked AND (name, version) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[]))",
        [m.name for m in media],
        [m.version for m in media],
    )
    return {MediaRef(name=r["name"], version=r["version"], sha256=r["sha256"]) for r in rows}
