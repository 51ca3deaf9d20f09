"""The two-person rule for changes to the rules, as plain domain code."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ferry.errors import Forbidden, InvalidField, InvalidTransition
from ferry.events.governance import GovernedKind
from ferry.events.policy import FreezePeriodLifted
from ferry.governance import Change, Proposal, ProposalState, StaleProposal, TwoPersonRule


def proposed(by: str = "rita", subject_version: int = 1) -> Proposal:
    proposal = Proposal(uuid4())
    lift = FreezePeriodLifted(freeze_id=uuid4(), reason="close done early")
    change = Change(GovernedKind.FREEZE_LIFT, "freeze-x", subject_version, lift, "close done")
    for event in proposal.propose(change, by):
        proposal.apply(event)
    return proposal


def test_a_proposal_takes_effect_only_with_a_second_persons_approval() -> None:
    proposal = proposed(by="rita")
    with pytest.raises(TwoPersonRule) as refused:
        proposal.approve("rita", subject_version=1)
    assert refused.value.extensions() == {"rule": "two-person-rule"}
    for event in proposal.approve("carl", subject_version=1):
        proposal.apply(event)
    assert (proposal.state, proposal.decided_by) == (ProposalState.APPROVED, "carl")
    with pytest.raises(InvalidTransition):
        proposal.approve("cora", subject_version=1)


def test_a_proposal_whose_subject_changed_since_cannot_be_approved() -> None:
    with pytest.raises(StaleProposal, match="changed since"):
        proposed(subject_version=1).approve("carl", subject_version=2)


def test_only_a_change_authority_or_the_proposer_rejects() -> None:
    with pytest.raises(Forbidden):
        proposed(by="rita").reject("dave", "no", change_authority=False)
    withdrawn = proposed(by="rita")
    for event in withdrawn.reject("rita", "wrong numbers", change_authority=False):
        withdrawn.apply(event)
    assert (withdrawn.state, withdrawn.decision_reason) == (ProposalState.REJECTED, "wrong numbers")
    with pytest.raises(InvalidTransition):
        withdrawn.approve("carl", subject_version=1)


def test_a_proposal_says_why() -> None:
    lift = FreezePeriodLifted(freeze_id=uuid4(), reason="-")
    with pytest.raises(InvalidField):
        Proposal(uuid4()).propose(
            Change(GovernedKind.FREEZE_LIFT, "freeze-x", 1, lift, " "), "rita"
        )
