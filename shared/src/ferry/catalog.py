"""A local read model of releases, for services that must know them without asking release-svc.

Kept from `ReleasePlanned` and `ReleaseCancelled`, and from the DML's `LibraryEntryOpened`,
`ReleaseAvailable` and `ReleaseRevoked`: `library_state` is the DML's entry state (`open`,
`available`, `revoked`). Rebuildable by replaying those topics.
"""

from __future__ import annotations

from uuid import UUID

import sqlalchemy as sa
from alembic import op
from fastapi import APIRouter
from pydantic import BaseModel

from ferry.auth import Reader
from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.errors import NotFound
from ferry.events.dml import LibraryEntryOpened, ReleaseAvailable, ReleaseRevoked
from ferry.events.release import ReleaseCancelled, ReleasePlanned
from ferry.http import problem_responses
from ferry.service import UoW


def create_table(schema: str) -> None:
    """For the migration of each service that keeps the catalog."""
    op.create_table(
        "release_catalog",
        sa.Column("release_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("library_state", sa.Text, nullable=True),
        schema=schema,
    )


def add_cancelled(schema: str) -> None:
    """Second revision: whether the release was called off."""
    op.add_column(
        "release_catalog",
        sa.Column("cancelled", sa.Boolean, nullable=False, server_default=sa.false()),
        schema=schema,
    )


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".release_catalog'


async def on_release_planned(event: ReleasePlanned, _: Envelope, uow: UnitOfWork) -> None:
    await uow.execute(
        f"INSERT INTO {_table(uow)} (release_id, name, version) VALUES ($1, $2, $3) "
        "ON CONFLICT (release_id) DO UPDATE SET name = $2, version = $3",
        event.release_id,
        event.name,
        event.version,
    )


async def on_library_entry_opened(event: LibraryEntryOpened, _: Envelope, uow: UnitOfWork) -> None:
    # Events of two topics arrive in no set order: the DML's may come first.
    await uow.execute(
        f"INSERT INTO {_table(uow)} (release_id, name, version, library_state) "
        "VALUES ($1, $2, $3, 'open') "
        "ON CONFLICT (release_id) DO UPDATE SET library_state = 'open'",
        event.release_id,
        event.name,
        event.version,
    )


async def _library_state(uow: UnitOfWork, release_id: UUID, state: str) -> None:
    # After LibraryEntryOpened on the same topic and key, so the row is there already.
    await uow.execute(
        f"UPDATE {_table(uow)} SET library_state = $2 WHERE release_id = $1", release_id, state
    )


async def on_release_available(event: ReleaseAvailable, _: Envelope, uow: UnitOfWork) -> None:
    await _library_state(uow, event.release_id, "available")


async def on_release_revoked(event: ReleaseRevoked, _: Envelope, uow: UnitOfWork) -> None:
    await _library_state(uow, event.release_id, "revoked")


async def on_release_cancelled(event: ReleaseCancelled, _: Envelope, uow: UnitOfWork) -> None:
    # Same topic and key as its ReleasePlanned, so the row is there already.
    await uow.execute(
        f"UPDATE {_table(uow)} SET cancelled = true WHERE release_id = $1", event.release_id
    )


class CatalogEntry(BaseModel):
    """What this service knows of a release."""

    release_id: UUID
    name: str
    version: str
    library_state: str | None
    """The DML's entry: `open`, `available`, `revoked`; null until the DML's word arrives."""
    cancelled: bool


def router() -> APIRouter:
    routes = APIRouter(prefix="/catalog", tags=["catalog"])

    @routes.get(
        "/releases/{release_id}",
        response_model=CatalogEntry,
        responses=problem_responses({404: "Release not known (yet)"}),
    )
    async def get_known_release(release_id: UUID, uow: UoW, _: Reader) -> CatalogEntry:
        """A release as this service learnt it from the event topics."""
        async with uow:
            row = await uow.fetchrow(
                f"SELECT release_id, name, version, library_state, cancelled FROM {_table(uow)} "
                "WHERE release_id = $1",
                release_id,
            )
        if row is None:
            raise NotFound(f"release {release_id} is not known here (yet)")
        return CatalogEntry.model_validate(dict(row))

    return routes
