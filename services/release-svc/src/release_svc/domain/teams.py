"""A team: what it owns (services, environments, configuration items) and its members.

Every change to a team changes who may act on what, so it is a governance change: proposed
by a `ferry-admin`, recorded once another person holding `change-authority` approves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field

from ferry.errors import InvalidField
from ferry.events.team import TeamDefined, TeamEvent, TeamMember
from ferry.eventsourced import EventSourced
from ferry.grants import TEAM_NAME
from ferry.teams import Owned, check_apart


@dataclass
class Team(EventSourced):
    name: str
    version: int = 0
    definition: TeamDefined | None = field(default=None, repr=False)

    def define(
        self,
        description: str,
        owned: Mapping[Owned, Sequence[str]],
        members: Sequence[TeamMember],
        others: Mapping[str, Mapping[Owned, Set[str]]],
    ) -> list[TeamDefined]:
        """Define (or redefine) the team; `others`: what each other team owns, none of which
        this one may own too. Nothing changed: no event."""
        if not TEAM_NAME.fullmatch(self.name):
            raise InvalidField("name", "lower-case letters, digits and '-', a letter first")
        for kind, names in owned.items():
            _no_repeats(kind.value, names)
        _no_repeats("members", [m.subject or f"group {m.group}" for m in members])
        new = TeamDefined(
            team=self.name,
            description=description,
            services=sorted(owned.get(Owned.SERVICE, ())),
            environments=sorted(owned.get(Owned.ENVIRONMENT, ())),
            configuration_items=sorted(owned.get(Owned.CONFIGURATION_ITEM, ())),
            members=list(members),
        )
        check_apart(new, others)
        if self.definition is not None and _same(self.definition, new):
            return []
        return [new]

    def _evolve(self, event: TeamEvent) -> None:
        if isinstance(event, TeamDefined):
            self.definition = event


def _no_repeats(what: str, names: Iterable[str]) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            raise InvalidField(f"{what}.{i}", f"{name} is named twice")
        seen.add(name)


def _same(before: TeamDefined, after: TeamDefined) -> bool:
    fields = {"description", "services", "environments", "configuration_items", "members"}
    return before.model_dump(include=fields) == after.model_dump(include=fields)
