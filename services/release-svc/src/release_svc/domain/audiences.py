"""The directory of audiences a communication plan names: who is in each (their inboxes)
and the channels that reach it (email addresses, named chat webhooks)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from ferry.errors import InvalidField
from ferry.events.notify import AudienceDefined
from ferry.eventsourced import EventSourced


@dataclass(frozen=True)
class DefineAudience:
    name: str
    description: str
    members: frozenset[str]
    emails: frozenset[str]
    webhooks: frozenset[str]
    by: str


@dataclass
class Audience(EventSourced):
    name: str
    version: int = 0
    description: str = ""
    members: frozenset[str] = field(default_factory=frozenset)
    emails: frozenset[str] = field(default_factory=frozenset)
    webhooks: frozenset[str] = field(default_factory=frozenset)

    def define(self, cmd: DefineAudience, known_webhooks: Collection[str]) -> list[AudienceDefined]:
        """The audience as `cmd` says; webhooks must be ones the operator configured."""
        for i, name in enumerate(sorted(cmd.webhooks)):
            if name not in known_webhooks:
                configured = ", ".join(sorted(known_webhooks)) or "none"
                raise InvalidField(
                    f"webhooks.{i}", f"no webhook {name} is configured (configured: {configured})"
                )
        same = (cmd.description, cmd.members, cmd.emails, cmd.webhooks) == (
            self.description,
            self.members,
            self.emails,
            self.webhooks,
        )
        if self.exists and same:
            return []
        return [
            AudienceDefined(
                audience=self.name,
                description=cmd.description,
                members=sorted(cmd.members),
                emails=sorted(cmd.emails),
                webhooks=sorted(cmd.webhooks),
                by=cmd.by,
            )
        ]

    def _evolve(self, event: AudienceDefined) -> None:
        self.description = event.description
        self.members = frozenset(event.members)
        self.emails = frozenset(event.emails)
        self.webhooks = frozenset(event.webhooks)
