"""What release-svc's command handlers read besides the event store: the freezes in force,
the media the DML announced, the teams owning services. A port, so the handlers run on
PostgreSQL in the service (`release_svc.adapters.views`) and in memory in unit tests
(`release_svc.testing`)."""

from __future__ import annotations

from collections.abc import Sequence, Set
from typing import Protocol

from ferry.events.release import MediaRef
from ferry.freezes import FreezePeriod


class ReleaseViews(Protocol):
    async def freezes_in_force(self) -> list[FreezePeriod]:
        """The freezes not lifted, in the order they start."""

    async def known_media(self, media: Sequence[MediaRef]) -> set[MediaRef]:
        """Those of `media` the DML has announced, with the same digest, and not revoked."""

    async def owning_teams(self, services: Set[str]) -> frozenset[str]:
        """The teams owning any of `services`."""

    async def team_exists(self, team: str) -> bool:
        """Whether `team` is defined."""
