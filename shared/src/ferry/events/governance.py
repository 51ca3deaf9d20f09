"""Governance proposals: changes to the rules themselves, which take effect only once a
second person holding `change-authority` approves them (the two-person rule).

Published by the service owning what is governed: release-svc (release policies, lifting
freezes, teams) on `release.events`, deploy-svc (production environments) on `deploy.events`.
A proposal carries the very event that approval records (`effect`), and the version of the
stream it is recorded on: should that stream have changed meanwhile, the proposal can no
longer be approved, and a fresh one is needed.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import Field

from ferry.events.base import Event
from ferry.events.deploy import EnvironmentDefined
from ferry.events.policy import FreezePeriodLifted, ReleasePolicySet
from ferry.events.team import TeamDefined


class GovernedKind(StrEnum):
    """What a proposal changes."""

    RELEASE_POLICY = "release-policy"
    FREEZE_LIFT = "freeze-lift"
    ENVIRONMENT = "environment"
    TEAM = "team"


Effect = Annotated[
    ReleasePolicySet | FreezePeriodLifted | EnvironmentDefined | TeamDefined,
    Field(discriminator="type"),
]
"""The event recorded on the governed stream once the proposal is approved."""


class ProposalEvent(Event):
    stream_prefix: ClassVar[str] = "proposal"
    proposal_id: UUID

    def aggregate_id(self) -> str:
        return str(self.proposal_id)


class GovernanceChangeProposed(ProposalEvent):
    """Someone proposes a change to the rules; nothing changes until it is approved."""

    type: Literal["GovernanceChangeProposed"] = "GovernanceChangeProposed"
    schema_version: Literal[1] = 1
    kind: GovernedKind
    subject: str
    """The governed stream (e.g. `release-policy-major`, `environment-production`)."""
    subject_version: int
    """That stream's version when proposed: the effect is recorded after it, or not at all."""
    effect: Effect
    reason: str
    proposed_by: str


class GovernanceChangeApproved(ProposalEvent):
    """A second person holding `change-authority` approved: the effect is now recorded."""

    type: Literal["GovernanceChangeApproved"] = "GovernanceChangeApproved"
    schema_version: Literal[1] = 1
    approved_by: str


class GovernanceChangeRejected(ProposalEvent):
    """A change authority rejected the proposal, or its proposer withdrew it."""

    type: Literal["GovernanceChangeRejected"] = "GovernanceChangeRejected"
    schema_version: Literal[1] = 1
    rejected_by: str
    reason: str


GovernanceEvent = GovernanceChangeProposed | GovernanceChangeApproved | GovernanceChangeRejected
