from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from ferry import migrations
from ferry.db import Database
from release_svc.main import MIGRATIONS
from tests.support.infra import Infra
from tests.support.services import unique


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
