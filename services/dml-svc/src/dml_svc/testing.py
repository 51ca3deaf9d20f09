"""An in-memory `LibraryViews` for unit tests of dml-svc's handlers: the same contract as
the PostgreSQL read models, no I/O (as `ferry.testing` is for the event store)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from uuid import UUID

from dml_svc.domain.media import Media
from dml_svc.domain.spares import Spare
from ferry.teams import Owned


@dataclass
class InMemoryViews:
    media: dict[UUID, Media] = field(default_factory=dict)
    """The media list: a copy of each media item as last saved."""
    spares: dict[UUID, Spare] = field(default_factory=dict)
    owners: dict[tuple[Owned, str], str] = field(default_factory=dict)
    """(kind, name) → the team owning it."""

    async def save_media(self, media: Media) -> None:
        self.media[media.id] = copy.deepcopy(media)

    async def save_spare(self, spare: Spare) -> None:
        self.spares[spare.id] = copy.deepcopy(spare)

    async def owner(self, kind: Owned, name: str) -> frozenset[str]:
        owner = self.owners.get((kind, name))
        return frozenset({owner}) if owner else frozenset()
