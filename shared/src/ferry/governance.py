"""The two-person rule for changes to the rules themselves, as plain domain code.

Release policies (segregation, approvers, validations, review), lifting a freeze, and the
classification and targets of production environments are what segregation of duties rests
on: were the people it constrains free to change them, it would constrain no one. So such a
change is only proposed by whoever asks for it, and takes effect when a *different* person
holding `change-authority` approves it (`ferry.proposals` records it then).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from ferry.errors import Conflict, Forbidden, InvalidField, InvalidTransition
from ferry.events.governance import (
    Effect,
    GovernanceChangeApproved,
    GovernanceChangeProposed,
    GovernanceChangeRejected,
    GovernanceEvent,
    GovernedKind,
)
from ferry.eventsourced import EventSourced

TWO_PERSON_RULE = "two-person-rule"


class ProposalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class TwoPersonRule(Forbidden):
    """Whoever proposed a change to the rules may not approve it too."""

    def extensions(self) -> dict[str, object]:
        return {"rule": TWO_PERSON_RULE}


class StaleProposal(Conflict):
    """What the proposal would change has changed since it was proposed."""


class ProposalExists(Conflict):
    """A proposal with this id exists already."""


@dataclass(frozen=True)
class Change:
    """What a proposal would do: record `effect` on stream `subject` after `subject_version`."""

    kind: GovernedKind
    subject: str
    subject_version: int
    effect: Effect
    reason: str


@dataclass
class Proposal(EventSourced):
    """One proposed change to the rules, from its proposal to its approval or rejection."""

    id: UUID
    version: int = 0
    change: Change | None = None
    proposed_by: str = ""
    state: ProposalState = ProposalState.PENDING
    decided_by: str | None = None
    decision_reason: str | None = None

    def propose(self, change: Change, by: str) -> list[GovernanceEvent]:
        if self.exists:
            raise ProposalExists(f"proposal {self.id} exists already")
        if not change.reason.strip():
            raise InvalidField("reason", "say why the rules should change")
        return [
            GovernanceChangeProposed(
                proposal_id=self.id,
                kind=change.kind,
                subject=change.subject,
                subject_version=change.subject_version,
                effect=change.effect,
                reason=change.reason,
                proposed_by=by,
            )
        ]

    def approve(self, by: str, subject_version: int) -> list[GovernanceEvent]:
        """Approve, by `by` (a change authority), while what it changes is at
        `subject_version`."""
        change = self._pending("approve")
        if by == self.proposed_by:
            raise TwoPersonRule(
                f"{TWO_PERSON_RULE}: {by} proposed this change, so another change authority "
                "must approve it"
            )
        if subject_version != change.subject_version:
            raise StaleProposal(
                f"{change.subject} changed since this proposal (version "
                f"{change.subject_version}, now {subject_version}): propose the change again"
            )
        return [GovernanceChangeApproved(proposal_id=self.id, approved_by=by)]

    def reject(self, by: str, reason: str, *, change_authority: bool) -> list[GovernanceEvent]:
        """Reject, by a change authority, or withdraw, by its proposer."""
        self._pending("reject")
        if not change_authority and by != self.proposed_by:
            raise Forbidden("only a change authority or the proposer may reject a proposal")
        if not reason.strip():
            raise InvalidField("reason", "say why")
        return [GovernanceChangeRejected(proposal_id=self.id, rejected_by=by, reason=reason)]

    def _pending(self, action: str) -> Change:
        if self.state is not ProposalState.PENDING or self.change is None:
            raise InvalidTransition(self.id, self.state, action)
        return self.change

    def _evolve(self, event: GovernanceEvent) -> None:
        match event:
            case GovernanceChangeProposed():
                self.change = Change(
                    event.kind, event.subject, event.subject_version, event.effect, event.reason
                )
                self.proposed_by = event.proposed_by
            case GovernanceChangeApproved():
                self.state = ProposalState.APPROVED
                self.decided_by = event.approved_by
            case GovernanceChangeRejected():
                self.state = ProposalState.REJECTED
                self.decided_by = event.rejected_by
                self.decision_reason = event.reason
