"""dml-svc's read models in PostgreSQL, as its command handlers see them
(`dml_svc.handlers.views.LibraryViews`)."""

from __future__ import annotations

from dataclasses import dataclass

from dml_svc.domain.media import Media
from dml_svc.domain.spares import Spare
from dml_svc.projections import media_list, spares
from ferry import team_table
from ferry.db import UnitOfWork
from ferry.teams import Owned


@dataclass(frozen=True)
class PostgresViews:
    uow: UnitOfWork

    async def save_media(self, media: Media) -> None:
        await media_list.save(self.uow, media)

    async def save_spare(self, spare: Spare) -> None:
        await spares.save(self.uow, spare)

    async def owner(self, kind: Owned, name: str) -> frozenset[str]:
        return await team_table.owners(self.uow, kind, [name])
