"""Teams as every service knows them: what each owns, and who holds which role for it.

A local read model kept from `TeamDefined` (release-svc records it once a governance
proposal is approved, and keeps this table in the same transaction; the other services
consume it from `release.events`). Rebuildable by replaying that topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from alembic import op

from ferry.db import UnitOfWork
from ferry.envelope import Envelope
from ferry.events.team import TeamDefined
from ferry.grants import Acting, Grant
from ferry.teams import Owned, owned_by


def create_table(schema: str) -> None:
    """For the migration of each service that knows the teams."""
    op.execute(
        f"""CREATE TABLE "{schema}".teams (
            name text PRIMARY KEY,
            description text NOT NULL,
            services text[] NOT NULL,
            environments text[] NOT NULL,
            configuration_items text[] NOT NULL,
            members jsonb NOT NULL
        )"""
    )


def _table(uow: UnitOfWork) -> str:
    return f'"{uow.schema}".teams'


async def save(uow: UnitOfWork, team: TeamDefined) -> None:
    """The team's row as `team` defines it."""
    await uow.execute(
        f"INSERT INTO {_table(uow)} "
        "(name, description, services, environments, configuration_items, members) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO UPDATE SET description = $2, "
        "services = $3, environments = $4, configuration_items = $5, members = $6",
        team.team,
        team.description,
        team.services,
        team.environments,
        team.configuration_items,
        [member.model_dump(mode="json", exclude_none=True) for member in team.members],
    )


async def on_team_defined(event: TeamDefined, _: Envelope, uow: UnitOfWork) -> None:
    """The consumer's handler: a team as release-svc recorded it."""
    await save(uow, event)


async def all_teams(uow: UnitOfWork) -> list[TeamDefined]:
    rows = await uow.fetch(
        f"SELECT name, description, services, environments, configuration_items, members "
        f"FROM {_table(uow)} ORDER BY name"
    )
    return [_team(row) for row in rows]


async def exists(uow: UnitOfWork, name: str) -> bool:
    found: bool = await uow.fetchval(
        f"SELECT EXISTS (SELECT 1 FROM {_table(uow)} WHERE name = $1)", name
    )
    return found


async def ownership(uow: UnitOfWork) -> dict[str, dict[Owned, frozenset[str]]]:
    """What each team owns, by team name."""
    return {team.team: owned_by(team) for team in await all_teams(uow)}


async def owners(uow: UnitOfWork, kind: Owned, names: Iterable[str]) -> frozenset[str]:
    """The teams owning any of `names` (of `kind`)."""
    rows = await uow.fetch(
        f"SELECT name FROM {_table(uow)} WHERE {kind.value} && $1::text[]", sorted(set(names))
    )
    return frozenset(row["name"] for row in rows)


async def owned(uow: UnitOfWork, teams: Iterable[str], kind: Owned) -> frozenset[str]:
    """Every name of `kind` one of `teams` owns."""
    rows = await uow.fetch(
        f"SELECT DISTINCT unnest({kind.value}) AS name FROM {_table(uow)} "
        "WHERE name = ANY($1::text[])",
        sorted(set(teams)),
    )
    return frozenset(row["name"] for row in rows)


async def check(uow: UnitOfWork, acting: Acting, kind: Owned, name: str, what: str) -> None:
    """Refuse `acting` (403 naming the team) unless it may act on `name` (of `kind`)."""
    acting.on(await owners(uow, kind, [name]), what)


async def member_grants(uow: UnitOfWork, subject: str, groups: Iterable[str]) -> frozenset[Grant]:
    """The roles the teams give `subject`, directly or through one of `groups`."""
    rows = await uow.fetch(
        f"SELECT t.name, m.member FROM {_table(uow)} t, "
        "jsonb_array_elements(t.members) AS m(member) "
        "WHERE m.member->>'subject' = $1 OR m.member->>'group' = ANY($2::text[])",
        subject,
        sorted(set(groups)),
    )
    return frozenset(Grant(role, row["name"]) for row in rows for role in row["member"]["roles"])


def _team(row: Mapping[str, Any]) -> TeamDefined:
    return TeamDefined(
        team=row["name"],
        description=row["description"],
        services=list(row["services"]),
        environments=list(row["environments"]),
        configuration_items=list(row["configuration_items"]),
        members=row["members"],
    )
