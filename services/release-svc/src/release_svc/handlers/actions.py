"""Command handlers of improvement actions: the release whose stream holds the action
decides, as for any change of it; only who may ask differs."""

from __future__ import annotations

from uuid import UUID

from ferry.aggregate import record
from ferry.envelope import Meta
from ferry.eventstore import WithEvents
from ferry.grants import Acting
from release_svc.domain.commands import ProgressAction
from release_svc.domain.release import Release
from release_svc.handlers.releases import check_teams, get_release_at, stream_id
from release_svc.handlers.views import ReleaseViews


async def progress(
    uow: WithEvents,
    release_id: UUID,
    expected_version: int,
    meta: Meta,
    cmd: ProgressAction,
    acting: Acting,
    views: ReleaseViews,
) -> Release:
    """Move the action on. Its owner may, whatever teams they are in (the review named them);
    anyone else must manage the release, with roles reaching its teams. The release decides
    first, so a stranger hears who may, not which teams they miss."""
    release = await get_release_at(uow, release_id, expected_version)
    new = release.progress_action(cmd)
    if release.actions[cmd.action_id].owner != cmd.by:
        await check_teams(views, acting, release)
    return await record(uow.events, stream_id(release.id), release, new, meta)
