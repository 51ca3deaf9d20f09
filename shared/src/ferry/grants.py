"""Roles held everywhere or for one team.

A grant is a Ferry role, held globally (`deployer`) or for a team (`payments:deployer`). The
token's roles claim names them directly, or names IdP groups that `FERRY_AUTH_ROLE_MAP`
maps onto them ({"payments-deployers": "payments:deployer"}). Whether a team grant lets a
caller act on an object depends on the team owning that object, which only the service
knows: `require` is that check, called by the handler once it knows the owners.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ferry.errors import Forbidden
from ferry.events.team import TEAM_NAME_PATTERN

TEAM_NAME: Final = re.compile(TEAM_NAME_PATTERN)
"""A team's name: lower case, digits and hyphens, as in a URL or a Kubernetes label."""


@dataclass(frozen=True)
class Grant:
    """A role, for `team` or (None) everywhere."""

    role: str
    team: str | None = None


def parse_grant(name: str, roles: Iterable[str], team_roles: Iterable[str]) -> Grant | None:
    """`name` as a grant: one of `roles` held everywhere, or `team:role` with one of
    `team_roles` (those that make sense for one team); None if it is neither."""
    team, _, role = name.rpartition(":")
    if not team:
        return None if ":" in name or role not in set(roles) else Grant(role)
    if role not in set(team_roles) or not TEAM_NAME.match(team):
        return None
    return Grant(role, team)


class OutsideTeam(Forbidden):
    """A caller whose role is held for other teams than the one owning what it acts on."""

    def __init__(self, message: str, owners: Iterable[str]) -> None:
        super().__init__(message)
        self.owners = sorted(owners)

    def extensions(self) -> dict[str, object]:
        return {"rule": "team-scope", "teams": self.owners}


def require(
    grants: Iterable[Grant], roles: Iterable[str], owners: Iterable[str], what: str
) -> None:
    """Pass if `grants` hold one of `roles` globally, or for a team among `owners`; else
    refuse naming the owning teams. What no team owns needs the role globally: a team's
    grant reaches only what is known to be the team's."""
    wanted = {str(role) for role in roles}
    held = [grant for grant in grants if grant.role in wanted]
    owning = set(owners)
    if any(grant.team is None for grant in held):
        return
    if any(grant.team in owning for grant in held):
        return
    if not owning:
        raise Forbidden(
            f"{what} belongs to no team: it needs {' or '.join(sorted(wanted))} held for every team"
        )
    teams = ", ".join(sorted(owning))
    yours = ", ".join(sorted({grant.team for grant in held if grant.team})) or "none"
    raise OutsideTeam(
        f"{what} belongs to team {teams}: it needs {' or '.join(sorted(wanted))} for "
        f"{'that team' if len(owning) == 1 else 'one of those teams'} (yours: {yours})",
        owning,
    )


@dataclass(frozen=True)
class Acting:
    """Who acts and with which of their roles the route lets them: what a handler checks
    against the teams owning what it acts on, once it knows them."""

    grants: frozenset[Grant]
    roles: frozenset[str]

    @property
    def everywhere(self) -> bool:
        """Whether one of the roles is held everywhere: then no team need be looked up."""
        return any(grant.team is None and grant.role in self.roles for grant in self.grants)

    @property
    def teams(self) -> frozenset[str]:
        """The teams one of the roles is held for (beside or instead of everywhere)."""
        return frozenset(g.team for g in self.grants if g.team and g.role in self.roles)

    def roles_on(self, owners: Iterable[str]) -> frozenset[str]:
        """Those of the roles held everywhere or for one of `owners`."""
        owning = set(owners)
        return frozenset(
            g.role
            for g in self.grants
            if g.role in self.roles and (g.team is None or g.team in owning)
        )

    def narrowed(self, *roles: str) -> Acting:
        """Acting with only those of its roles among `roles`."""
        return Acting(self.grants, self.roles & {str(role) for role in roles})

    def on(self, owners: Iterable[str], what: str) -> None:
        """Refuse (403 naming the team) unless a role is held everywhere or for an owner."""
        require(self.grants, self.roles, owners, what)
