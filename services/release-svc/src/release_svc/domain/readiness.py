"""Readiness before go-live: what a release's policy asks to be confirmed before it is
deployed to production, and who confirms each item."""

from __future__ import annotations

from collections.abc import Iterable, Set
from dataclasses import dataclass

from ferry.errors import Forbidden
from ferry.events.release import ReadinessItem, ScopeItem, ScopeKind

CONFIRMED_BY: dict[ReadinessItem, str] = {
    ReadinessItem.SERVICE_DESK_BRIEFED: "operations",
    ReadinessItem.TRAINING_DELIVERED: "release-manager",
    ReadinessItem.DOCUMENTATION_PUBLISHED: "release-manager",
    ReadinessItem.OPERATIONS_ACCEPTANCE: "operations",
}
"""The role that confirms each item: operations for what the live side takes on, the
release manager for what the release delivers to its users."""


@dataclass(frozen=True)
class Confirmation:
    evidence: str
    by: str


class NotTheConfirmer(Forbidden):
    """Each readiness item is confirmed by its own role."""

    def __init__(self, item: ReadinessItem) -> None:
        super().__init__(f"{item} is confirmed by {CONFIRMED_BY[item]}")

    def extensions(self) -> dict[str, object]:
        return {"rule": "readiness-confirmer"}


def required(
    policy_items: Iterable[ReadinessItem], scope: Iterable[ScopeItem]
) -> set[ReadinessItem]:
    """The policy's items, and training when the release's scope delivers some."""
    needed = set(policy_items)
    if any(item.kind is ScopeKind.TRAINING for item in scope):
        needed.add(ReadinessItem.TRAINING_DELIVERED)
    return needed


def check_confirmer(item: ReadinessItem, roles: Set[str]) -> None:
    if CONFIRMED_BY[item] not in roles:
        raise NotTheConfirmer(item)
