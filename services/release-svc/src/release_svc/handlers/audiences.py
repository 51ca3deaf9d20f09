"""Defining an audience: load it from its stream, let it decide, append, keep the read
model."""

from __future__ import annotations

from collections.abc import Collection

from ferry.aggregate import rebuild, record
from ferry.db import UnitOfWork
from ferry.envelope import Meta
from ferry.errors import ConcurrencyError, PreconditionRequired
from ferry.events.notify import AudienceDefined
from release_svc.adapters import audiences
from release_svc.domain.audiences import Audience, DefineAudience


async def define(
    uow: UnitOfWork,
    cmd: DefineAudience,
    expected_version: int | None,
    meta: Meta,
    known_webhooks: Collection[str],
) -> Audience:
    """Create the audience (no `If-Match`), or replace it at the version read."""
    stream = f"audience-{cmd.name}"
    audience = await rebuild(uow.events, stream, Audience(cmd.name), AudienceDefined)
    if audience.exists and expected_version is None:
        raise PreconditionRequired(f"audience {cmd.name} exists: send If-Match with its ETag")
    if expected_version is not None and expected_version != audience.version:
        raise ConcurrencyError(stream, expected_version)
    await record(uow.events, stream, audience, audience.define(cmd, known_webhooks), meta)
    await audiences.save(uow, audience)
    return audience
