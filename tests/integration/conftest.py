from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from ferry import migrations
from ferry.db import Database
from release_svc.config import Settings
from release_svc.main import MIGRATIONS, spec
from tests.support.infra import Infra
from tests.support.services import serving, settings, unique


@pytest.fixture
async def db(infra: Infra) -> AsyncIterator[Database]:
    """A freshly migrated schema of its own (release-svc's migrations: the core tables)."""
    schema = unique("it")
    await asyncio.to_thread(migrations.upgrade, infra.database_url, schema, MIGRATIONS)
    database = Database(infra.database_url, schema, source="test-svc")
    yield database
    async with database.unit_of_work() as uow:
        await uow.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await uow.commit()
    await database.dispose()


@pytest.fixture
def release_settings(infra: Infra, topic_prefix: str) -> Settings:
    """release-svc's settings for one test: its own schema, port and topics."""
    return settings(Settings, infra, topic_prefix)


@pytest.fixture
async def api(release_settings: Settings, infra: Infra) -> AsyncIterator[httpx.AsyncClient]:
    """release-svc; by default rita, a release manager, calls it. A module testing another
    service defines its own `api`."""
    rita = infra.issuer.bearer("rita", "release-manager")
    async with serving(spec(release_settings), headers=rita) as client:
        yield client
