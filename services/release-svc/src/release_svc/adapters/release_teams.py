"""The teams a release touches, in SQL over a read model's `team` and `services` columns:
the team it is planned for, and those owning its services as the teams' table has them
now, so a team's later claim on a service shows at once."""

from __future__ import annotations

from ferry.db import UnitOfWork


def teams_of(uow: UnitOfWork, row: str) -> str:
    """An expression: the sorted names of the teams touching the release in `row` (alias)."""
    return (
        f'ARRAY(SELECT t.name FROM "{uow.schema}".teams t '
        f"WHERE t.services && {row}.services OR t.name = {row}.team ORDER BY t.name)"
    )


def touches(uow: UnitOfWork, row: str, teams: str) -> str:
    """A condition: the release in `row` touches one of `teams` (a `text[]` placeholder)."""
    return (
        f"({row}.team = ANY({teams}) OR {row}.services && ARRAY(SELECT unnest(t.services) "
        f'FROM "{uow.schema}".teams t WHERE t.name = ANY({teams})))'
    )
