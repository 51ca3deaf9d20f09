"""Readiness before go-live: what is needed, who confirms it, what approval hands on."""

from __future__ import annotations

import dataclasses

import pytest

from ferry.errors import InvalidTransition
from ferry.events.release import ReadinessItem, ReleaseApproved, ScopeItem, ScopeKind
from release_svc.domain.commands import Approve, CancelRelease, ConfirmReadiness, SetScope
from release_svc.domain.readiness import NotTheConfirmer, required
from release_svc.domain.release import Release
from tests.support.releases import (
    applied,
    approved_by,
    context,
    packaged,
    planned,
    policy_of,
    ready_to_approve,
    validated,
    with_backout,
)

DESK, TRAINING, DOCS, OPS = (
    ReadinessItem.SERVICE_DESK_BRIEFED,
    ReadinessItem.TRAINING_DELIVERED,
    ReadinessItem.DOCUMENTATION_PUBLISHED,
    ReadinessItem.OPERATIONS_ACCEPTANCE,
)
TRAINING_ITEM = ScopeItem(kind=ScopeKind.TRAINING, name="desk course")


def confirm(
    release: Release, item: ReadinessItem, by: str, *roles: str, evidence: str = "minutes"
) -> Release:
    cmd = ConfirmReadiness(release.id, item, evidence, by, frozenset(roles))
    return applied(release, release.confirm_readiness(cmd))


def test_training_in_the_scope_adds_its_delivery_to_the_policys_items() -> None:
    assert required({DESK}, []) == {DESK}
    assert required({DESK}, [TRAINING_ITEM]) == {DESK, TRAINING}
    assert required(set(), [ScopeItem(kind=ScopeKind.SERVICE, name="payments-api")]) == set()


def test_each_item_is_confirmed_by_its_own_role() -> None:
    release = planned()
    with pytest.raises(NotTheConfirmer, match="operations"):
        confirm(release, OPS, "rita", "release-manager")
    release = confirm(release, OPS, "olly", "operations", evidence=" signed off ")
    release = confirm(release, DOCS, "rita", "release-manager")
    assert {item: (c.by, c.evidence) for item, c in release.readiness.items()} == {
        OPS: ("olly", "signed off"),
        DOCS: ("rita", "minutes"),
    }
    # The same confirmation again changes nothing; new evidence is recorded.
    again = ConfirmReadiness(release.id, DOCS, "minutes", "rita", frozenset({"release-manager"}))
    assert release.confirm_readiness(again) == []
    assert (
        confirm(release, DOCS, "rita", "release-manager", evidence="v2").readiness[DOCS].evidence
        == "v2"
    )


def test_a_cancelled_release_takes_no_confirmation() -> None:
    release = planned()
    release = applied(release, release.cancel(CancelRelease(release.id, "called off", by="rita")))
    with pytest.raises(InvalidTransition):
        confirm(release, OPS, "olly", "operations")


def test_the_approval_names_what_must_be_ready_as_the_policy_and_scope_say() -> None:
    release = planned()
    release = applied(release, release.set_scope(SetScope(release.id, [TRAINING_ITEM], by="rita")))
    release = validated(packaged(with_backout(release)))
    strict = dataclasses.replace(policy_of(release), readiness=frozenset({DESK, OPS}))
    new = release.approve(Approve(release.id, "RFC-1", by="carl"), context(release, strict))
    [approval] = [e for e in new if isinstance(e, ReleaseApproved)]
    assert approval.readiness == [OPS, DESK, TRAINING]
    applied(release, new)
    # From now on the approval says, whatever the policy becomes.
    assert release.readiness_needed(set()) == {DESK, OPS, TRAINING}


def test_before_approval_the_policy_in_force_says_what_is_needed() -> None:
    release = planned()
    assert release.readiness_needed({DOCS}) == {DOCS}
    approved = approved_by(ready_to_approve(), "carl")
    # Approved when the policy asked for nothing: nothing is needed, whatever it asks now.
    assert approved.readiness_needed({DOCS}) == set()
