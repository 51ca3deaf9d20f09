"""An in-memory `ReleaseViews` for unit tests of release-svc's handlers: the same contract
as the PostgreSQL read models, no I/O (as `ferry.testing` is for the event store)."""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, field

from ferry.events.release import MediaRef
from ferry.freezes import FreezePeriod


@dataclass
class InMemoryViews:
    freezes: list[FreezePeriod] = field(default_factory=list)
    """Those not lifted."""
    library: set[MediaRef] = field(default_factory=set)
    """The media the DML announced and did not revoke."""
    teams: dict[str, set[str]] = field(default_factory=dict)
    """The services each team owns."""

    async def freezes_in_force(self) -> list[FreezePeriod]:
        return sorted(self.freezes, key=lambda f: (f.start, str(f.freeze_id)))

    async def known_media(self, media: Sequence[MediaRef]) -> set[MediaRef]:
        return {m for m in media if m in self.library}

    async def owning_teams(self, services: Set[str]) -> frozenset[str]:
        return frozenset(team for team, owned in self.teams.items() if owned & services)

    async def team_exists(self, team: str) -> bool:
        return team in self.teams
