"""What dml-svc's command handlers keep and read besides the event store: the media list
and the spares list, brought up to each media item or spare they change, and which team
owns what. A port, so the handlers run on PostgreSQL in the service
(`dml_svc.adapters.views`) and in memory in unit tests (`dml_svc.testing`)."""

from __future__ import annotations

from typing import Protocol

from dml_svc.domain.media import Media
from dml_svc.domain.spares import Spare
from ferry.teams import Owned


class LibraryViews(Protocol):
    async def save_media(self, media: Media) -> None:
        """Keep the media list up to date with `media`."""

    async def save_spare(self, spare: Spare) -> None:
        """Keep the spares list up to date with `spare`."""

    async def owner(self, kind: Owned, name: str) -> frozenset[str]:
        """The team owning `name` of `kind`: none, or one."""
