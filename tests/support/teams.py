"""Teams as the services' own copies of them hold them."""

from __future__ import annotations

import asyncpg

from tests.support.infra import Infra


async def teams_known(infra: Infra, schema: str) -> set[str]:
    """The teams a service's copy of them holds."""
    connection = await asyncpg.connect(
        infra.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        rows = await connection.fetch(f'SELECT name FROM "{schema}".teams')
    finally:
        await connection.close()
    return {row["name"] for row in rows}
