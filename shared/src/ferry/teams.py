"""Teams' ownership, as plain domain code: what a team owns, and one owner at most.

The teams' table every service keeps (`ferry.team_table`) and release-svc's `Team` aggregate
both judge ownership with this.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from enum import StrEnum

from ferry.errors import Conflict
from ferry.events.team import TeamDefined


class Owned(StrEnum):
    """What a team owns; each name is owned by one team at most."""

    SERVICE = "services"
    ENVIRONMENT = "environments"
    CONFIGURATION_ITEM = "configuration_items"


class OwnedElsewhere(Conflict):
    """A team would own what another team owns already."""


def owned_by(team: TeamDefined) -> dict[Owned, frozenset[str]]:
    return {kind: frozenset(getattr(team, kind.value)) for kind in Owned}


def check_apart(team: TeamDefined, others: Mapping[str, Mapping[Owned, Set[str]]]) -> None:
    """Refuse `team` if it would own what one of `others` (by name) owns already: the team
    owning an object decides who may act on it, so there is one at most."""
    for kind, names in owned_by(team).items():
        for other, owning in sorted(others.items()):
            if other != team.team and (shared := names & owning.get(kind, set())):
                raise OwnedElsewhere(
                    f"{', '.join(sorted(shared))} ({kind.value.replace('_', ' ')}) belong to "
                    f"team {other}: take them from it first"
                )
