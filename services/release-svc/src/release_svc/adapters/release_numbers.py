"""Release identifiers, `REL-2026-0042`: numbered per year, without gaps or repeats.

The number is taken in the planning transaction: a plan that fails gives its number back,
and two plans at once are numbered one after the other.
"""

from __future__ import annotations

from ferry.db import UnitOfWork


async def next_identifier(uow: UnitOfWork, year: int) -> str:
    await uow.begin()  # the number belongs to the plan's transaction
    number = await uow.fetchval(
        f'INSERT INTO "{uow.schema}".release_numbers AS n (year, last) VALUES ($1, 1) '
        "ON CONFLICT (year) DO UPDATE SET last = n.last + 1 RETURNING last",
        year,
    )
    return f"REL-{year}-{number:04d}"
