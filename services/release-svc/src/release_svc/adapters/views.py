"""release-svc's read models in PostgreSQL, as its command handlers see them
(`release_svc.handlers.views.ReleaseViews`)."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass

from ferry import team_table
from ferry.db import UnitOfWork
from ferry.events.release import MediaRef
from ferry.freezes import FreezePeriod
from ferry.teams import Owned
from release_svc.adapters import freeze_periods, known_media


@dataclass(frozen=True)
class PostgresViews:
    uow: UnitOfWork

    async def freezes_in_force(self) -> list[FreezePeriod]:
        return await freeze_periods.in_force(self.uow)

    async def known_media(self, media: Sequence[MediaRef]) -> set[MediaRef]:
        return await known_media.known(self.uow, media)

    async def owning_teams(self, services: Set[str]) -> frozenset[str]:
        return await team_table.owners(self.uow, Owned.SERVICE, services)

    async def team_exists(self, team: str) -> bool:
        return await team_table.exists(self.uow, team)
