"""Events of teams, published by release-svc on `release.events`.

A team owns services (the names in release scopes and Early Life Support), environments and
configuration items, and has members: people (subjects) and identity-provider groups, each
with the roles they hold for the team. Every service learns the teams from these events, to
judge a role held for a team against the team owning what a request acts on.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ferry.events.base import Event

TEAM_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"


class TeamMember(BaseModel):
    """A person (`subject`, the token's `sub`) or an identity-provider `group` (a name in the
    token's roles claim), and the roles they hold for the team."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject: str | None = None
    group: str | None = None
    roles: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_of_subject_or_group(self) -> TeamMember:
        if (self.subject is None) == (self.group is None):
            raise ValueError("a member is a subject or a group, not both or neither")
        return self


class TeamEvent(Event):
    stream_prefix: ClassVar[str] = "team"
    team: str = Field(pattern=TEAM_NAME_PATTERN)

    def aggregate_id(self) -> str:
        return self.team


class TeamDefined(TeamEvent):
    """A team as it now is (replacing its earlier definition): what it owns and who is in
    it. Recorded once a governance proposal is approved; an empty team owns nothing."""

    type: Literal["TeamDefined"] = "TeamDefined"
    schema_version: Literal[1] = 1
    description: str = ""
    services: list[str] = []
    environments: list[str] = []
    configuration_items: list[str] = []
    members: list[TeamMember] = []
