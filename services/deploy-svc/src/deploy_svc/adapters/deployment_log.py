"""The deployment log: what drivers' steps say at length, redacted before it is stored, so
that neither a command's output nor a remote answer reaches an event (kept for ever)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit
from uuid import UUID

import asyncpg
from pydantic import BaseModel, SecretStr

from deploy_svc.config import Settings
from deploy_svc.domain.redaction import printable, redact
from ferry.db import UnitOfWork

LONGEST = 256 * 1024
"""One entry's most text (its end is kept): a runaway command fills no disk."""


def _secret_values(value: object) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, dict):
        for item in value.values():
            yield from _secret_values(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _secret_values(item)
    elif isinstance(value, BaseModel):  # e.g. a backout webhook's URL and key
        for name in type(value).model_fields:
            yield from _secret_values(getattr(value, name))


SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
"""The pod's Kubernetes token, where there is one: a verification command could read it."""


def known_secrets(settings: Settings) -> list[str]:
    """The service's own secret values, as they are now: its database password, every
    `SecretStr` setting (the webhook secrets), and its token for dml-svc (read afresh: it
    is rotated)."""
    found = [
        s for name in type(settings).model_fields for s in _secret_values(getattr(settings, name))
    ]
    password = urlsplit(settings.database_url).password
    if password:
        found += [password, unquote(password)]
    for file in (settings.dml_token_file, SERVICE_ACCOUNT_TOKEN):
        # No such file: no token to leak (the library's fetch says so where it matters).
        if file is not None:
            with contextlib.suppress(OSError):
                found.append(file.read_text().strip())
    return [s for s in found if s]


class DeploymentLog:
    """Appends to and reads the deployment log; redacts with the service's secrets."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def secrets(self) -> list[str]:
        """The service's secret values as they are now, to keep out of anything written."""
        return known_secrets(self._settings)

    def redacted(self, text: str) -> str:
        return printable(redact(text[-LONGEST:], known_secrets(self._settings)))

    async def append(
        self, uow: UnitOfWork, deployment_id: UUID, target: str, step: str, text: str, at: datetime
    ) -> None:
        await uow.execute(
            f'INSERT INTO "{uow.schema}".deployment_log (deployment_id, target, at, step, text) '
            "VALUES ($1, $2, $3, $4, $5)",
            deployment_id,
            target,
            at,
            step,
            self.redacted(text),
        )


async def page(
    uow: UnitOfWork, deployment_id: UUID, after: int, limit: int
) -> list[asyncpg.Record]:
    """The deployment's entries after entry `after`, oldest first."""
    return list(
        await uow.fetch(
            f'SELECT entry, target, at, step, text FROM "{uow.schema}".deployment_log '
            "WHERE deployment_id = $1 AND entry > $2 ORDER BY entry LIMIT $3",
            deployment_id,
            after,
            limit,
        )
    )
