"""Request and response bodies of the teams router."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ferry.auth import TEAM_ROLES, Role
from ferry.events.team import TeamDefined, TeamMember

OwnedName = Annotated[str, Field(min_length=1, max_length=200)]


class MemberIn(BaseModel):
    """A person (`subject`: the token's `sub`) or an identity-provider `group` (a name in
    the token's roles claim, as `FERRY_AUTH_ROLE_MAP` would map it), with their roles for
    the team."""

    model_config = ConfigDict(extra="forbid")

    subject: str | None = Field(None, min_length=1, max_length=200)
    group: str | None = Field(None, min_length=1, max_length=200)
    roles: list[Role] = Field(min_length=1, max_length=len(TEAM_ROLES))

    @model_validator(mode="after")
    def _subject_or_group_and_team_roles(self) -> Self:
        if (self.subject is None) == (self.group is None):
            raise ValueError("give a subject or a group, not both")
        if wrong := sorted(set(self.roles) - TEAM_ROLES):
            raise ValueError(
                f"held for every team or not at all: {', '.join(wrong)} (for a team: "
                f"{', '.join(sorted(TEAM_ROLES))})"
            )
        return self

    def to_member(self) -> TeamMember:
        return TeamMember(
            subject=self.subject, group=self.group, roles=[str(r) for r in self.roles]
        )


class TeamIn(BaseModel):
    """What the team owns (each name owned by one team at most) and who is in it."""

    model_config = ConfigDict(extra="forbid")

    description: str = Field("", max_length=2000)
    services: list[OwnedName] = Field([], max_length=500)
    environments: list[OwnedName] = Field([], max_length=500)
    configuration_items: list[OwnedName] = Field([], max_length=2000)
    members: list[MemberIn] = Field([], max_length=2000)
    reason: str = Field(min_length=1, max_length=2000)
    """Why the teams should change: the proposal's reason."""


class MemberOut(BaseModel):
    subject: str | None = None
    group: str | None = None
    roles: list[str]


class TeamOut(BaseModel):
    name: str
    description: str
    services: list[str]
    environments: list[str]
    configuration_items: list[str]
    members: list[MemberOut]

    @classmethod
    def of(cls, team: TeamDefined) -> TeamOut:
        return cls(
            name=team.team,
            description=team.description,
            services=team.services,
            environments=team.environments,
            configuration_items=team.configuration_items,
            members=[MemberOut(**m.model_dump()) for m in team.members],
        )
